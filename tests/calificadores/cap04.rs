//! Calificadores del capítulo 04.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap04::context_target_pairs",
            title: "Ejercicio 4.1 — Pares contexto → objetivo",
            file: "ejercicios/cap04_lotes.rs",
            hint: "para t en 1..chunk.len(): contexto `chunk[..t]`, objetivo `chunk[t]`.",
            grade: || {
                many(200, 41, |r| {
                    let len = r.random_range(0..12);
                    let chunk: Vec<u32> = (0..len).map(|_| r.random_range(0..89)).collect();
                    check(
                        &format!("{chunk:?}"),
                        graded::cap04::context_target_pairs(&chunk),
                        batches::context_target_pairs(&chunk),
                    )
                })
            },
        },
        Exercise {
            id: "cap04::batch_at",
            title: "Ejercicio 4.2 — Armar un lote",
            file: "ejercicios/cap04_lotes.rs",
            hint: "la fila de `y` es la de `x` corrida un lugar: empieza en `i + 1`.",
            grade: || {
                many(200, 42, |r| {
                    let len = r.random_range(20..200);
                    let data: Array1<u32> = (0..len).map(|_| r.random_range(0..89)).collect();
                    let block = r.random_range(1..16);
                    let batch = r.random_range(1..6);
                    let starts: Vec<usize> =
                        (0..batch).map(|_| r.random_range(0..len - block)).collect();
                    check(
                        &format!("starts = {starts:?}, block_size = {block}"),
                        graded::cap04::batch_at(data.view(), &starts, block),
                        batches::batch_at(data.view(), &starts, block),
                    )
                })
            },
        },
    ]
}
