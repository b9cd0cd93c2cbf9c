//! Calificadores del capítulo 02.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap02::vocabulary",
            title: "Ejercicio 2.1 — El vocabulario",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "reúne los caracteres, ordénalos y quita los repetidos: una vez ordenados, los repetidos quedan juntos.",
            more_hints: &[
                "un `BTreeSet<char>` guarda cada carácter una vez, ya ordenado; o un `Vec<char>` con `sort()` y `dedup()`.",
                "`text.chars()`, recógelos en el conjunto con `collect()` y pásalo a `Vec` con otro `collect()`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                shrinking(21, 300, text_strategy(80), |t| {
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
            more_hints: &[
                "como `vocab` está ordenado, `vocab.binary_search(&c)` da `Ok(posición)`; también sirve un `HashMap<char, u32>` hecho una vez.",
                "`text.chars().map(|c| …)` con la posición de cada carácter convertida a `u32`, y `collect()`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                shrinking(22, 300, text_strategy(80), |t| {
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
            hint: "cada identificador es una posición en el vocabulario: el carácter de esa posición, uno tras otro, forma el texto.",
            more_hints: &[
                "`vocab[i as usize]` es el carácter del identificador `i`; `collect()` construye un `String` a partir de un iterador de `char`.",
                "`ids.iter().map(|&i| vocab[i as usize]).collect()`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                let vocab = Tokenizer::from_text(&ALPHABET.iter().collect::<String>());
                let n = vocab.vocab_size() as u32;
                shrinking(23, 300, proptest::collection::vec(0..n, 0..60), |ids| {
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
