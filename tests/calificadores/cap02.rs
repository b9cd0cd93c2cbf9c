//! Calificadores del capítulo 02.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap02::vocabulary",
            title: "Ejercicio 2.1 — El vocabulario",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "ordena los caracteres con `sort()` y quita los repetidos con `dedup()`.",
            grade: || {
                many(300, 21, |r| {
                    let t = random_text(r, 80);
                    check(
                        &short(&t),
                        graded::cap02::vocabulary(&t),
                        Tokenizer::from_text(&t).chars().to_vec(),
                    )
                })
            },
        },
        Exercise {
            id: "cap02::encode",
            title: "Ejercicio 2.2 — Codificar",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "el identificador de un carácter es su posición en el vocabulario ordenado.",
            grade: || {
                many(300, 22, |r| {
                    let t = random_text(r, 80);
                    let tok = Tokenizer::from_text(&t);
                    check(
                        &short(&t),
                        graded::cap02::encode(tok.chars(), &t),
                        tok.encode(&t)
                            .expect("todo carácter está en el vocabulario"),
                    )
                })
            },
        },
        Exercise {
            id: "cap02::decode",
            title: "Ejercicio 2.3 — Decodificar",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "`vocab[id as usize]` es el carácter del identificador `id`.",
            grade: || {
                let vocab = Tokenizer::from_text(&ALPHABET.iter().collect::<String>());
                many(300, 23, |r| {
                    let len = r.random_range(0..60);
                    let ids: Vec<u32> = (0..len)
                        .map(|_| r.random_range(0..vocab.vocab_size() as u32))
                        .collect();
                    check(
                        &format!("{ids:?}"),
                        graded::cap02::decode(vocab.chars(), &ids),
                        vocab.decode(&ids).expect("identificadores válidos"),
                    )
                })
            },
        },
    ]
}
