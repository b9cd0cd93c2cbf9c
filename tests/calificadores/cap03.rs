//! Calificadores del capítulo 03.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap03::split_point",
            title: "Ejercicio 3.1 — Dónde cortar",
            file: "ejercicios/cap03_tensores.rs",
            hint: "multiplica en `f64` y trunca al final: pasar a entero antes (o multiplicar en `f32`) cambia el resultado con textos largos.",
            more_hints: &[
                "`len as f64` pasa a real; `x as usize` trunca un `f64` positivo hacia cero, como `int()` de Python.",
                "multiplica `len as f64` por la fracción y convierte el producto con `as usize`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                let input = "(1038397, 0.9)";
                let got = with_input(input, || graded::cap03::split_point(1038397, 0.9));
                check(input, got, 934557)?;
                many(500, 31, |r| {
                    let len = r.random_range(0..2_000_000);
                    let f = [0.5, 0.8, 0.9, 0.95, 0.1][r.random_range(0..5)];
                    let input = format!("({len}, {f})");
                    let got = with_input(&input, || graded::cap03::split_point(len, f));
                    check(&input, got, dataset::split_point(len, f))
                })
            },
        },
        Exercise {
            id: "cap03::token_counts",
            title: "Ejercicio 3.2 — Contar tokens",
            file: "ejercicios/cap03_tensores.rs",
            hint: "un contador por identificador del vocabulario, todos a cero al principio (también los que no aparecen); cada identificador suma uno al suyo.",
            more_hints: &[
                "`vec![0; vocab_size]` crea los contadores; `ids.iter()` recorre los identificadores (`id as usize` como índice).",
                "para cada identificador, `counts[id as usize] += 1`; al final, devuelve `counts`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(200, 32, |r| {
                    let vocab_size = r.random_range(1..100);
                    let len = r.random_range(0..500);
                    let ids: Array1<u32> = (0..len)
                        .map(|_| r.random_range(0..vocab_size as u32))
                        .collect();
                    let input = format!("vocab_size = {vocab_size}, ids = {:?}", ids.to_vec());
                    let got = with_input(&input, || {
                        graded::cap03::token_counts(ids.view(), vocab_size)
                    });
                    check(&input, got, dataset::token_counts(ids.view(), vocab_size))
                })
            },
        },
    ]
}
