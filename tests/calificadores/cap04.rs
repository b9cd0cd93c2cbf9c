//! Calificadores del capítulo 04.

use super::*;

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap04::context_target_pairs",
            title: "Ejercicio 4.1 — Pares contexto → objetivo",
            file: "ejercicios/cap04_lotes.rs",
            hint: "un trozo de k + 1 tokens da k ejemplos: el contexto crece de uno en uno y el objetivo es siempre el token que viene justo después.",
            more_hints: &[
                "`chunk[..t].to_vec()` copia los primeros `t` tokens; el objetivo es `chunk[t]`.",
                "`for t in 1..chunk.len()`, empuja `(chunk[..t].to_vec(), chunk[t])` a un `Vec`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                shrinking(
                    41,
                    200,
                    proptest::collection::vec(0..89u32, 0..12),
                    |chunk| {
                        check(
                            &format!("{chunk:?}"),
                            graded::cap04::context_target_pairs(&chunk),
                            batches::context_target_pairs(&chunk),
                        )
                    },
                )
            },
        },
        Exercise {
            id: "cap04::batch_at",
            title: "Ejercicio 4.2 — Armar un lote",
            file: "ejercicios/cap04_lotes.rs",
            hint: "la fila de `y` es la de `x` corrida un lugar: empieza en `i + 1`.",
            more_hints: &[
                "`Array2::from_shape_fn((filas, columnas), |(fila, t)| …)` construye cada matriz celda a celda; o `Array2::zeros` y asignar `x[[fila, t]]`.",
                "la celda `(fila, t)` de `x` es `data[starts[fila] + t]` y la de `y`, `data[starts[fila] + t + 1]`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(200, 42, |r| {
                    let len = r.random_range(20..200);
                    let data: Array1<u32> = (0..len).map(|_| r.random_range(0..89)).collect();
                    let block = r.random_range(1..16);
                    let batch = r.random_range(1..6);
                    let starts: Vec<usize> =
                        (0..batch).map(|_| r.random_range(0..len - block)).collect();
                    let input = format!("starts = {starts:?}, block_size = {block}");
                    let got = with_input(&input, || {
                        graded::cap04::batch_at(data.view(), &starts, block)
                    });
                    check(&input, got, batches::batch_at(data.view(), &starts, block))
                })
            },
        },
        Exercise {
            id: "cap04::get_batch",
            title: "Ejercicio 4.3 — Un lote al azar",
            file: "ejercicios/cap04_lotes.rs",
            hint: "un número por fila, en orden, con `random_range` sobre `0..len - block_size`; luego tu `batch_at`. El RNG debe quedar como el de la biblioteca: ni un número de más ni de menos.",
            more_hints: &[
                "`rng.random_range(a..b)` da un entero uniforme en `[a, b)`; tu `batch_at(data, &inicios, block_size)` arma el lote.",
                "`let last = data.len() - block_size;`, después `batch_size` inicios con `rng.random_range(0..last)` en un `Vec`, en orden, y `batch_at`.",
            ],
            optional: false,
            needs: &["cap04::batch_at"],
            grade: || {
                many(200, 43, |r| {
                    let len = r.random_range(20..200);
                    let data: Array1<u32> = (0..len).map(|_| r.random_range(0..89)).collect();
                    let block = r.random_range(1..16);
                    let batch = r.random_range(1..6);
                    let seed = r.random::<u64>();
                    let input = format!(
                        "datos de {len} tokens, batch_size = {batch}, block_size = {block}, semilla {seed}"
                    );
                    let ds = dataset::Dataset {
                        train: data.clone(),
                        val: data.clone(),
                    };
                    let (mut mine, mut lib) = (rng::seeded(seed), rng::seeded(seed));
                    let got = with_input(&input, || {
                        graded::cap04::get_batch(data.view(), batch, block, &mut mine)
                    });
                    let want =
                        batches::get_batch(&ds, dataset::Split::Train, batch, block, &mut lib);
                    check(&input, got, want)?;
                    check(
                        &format!("{input} (el número siguiente del RNG)"),
                        mine.random::<u64>(),
                        lib.random::<u64>(),
                    )
                })
            },
        },
    ]
}
