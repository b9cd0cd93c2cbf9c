//! Calificadores del capítulo 05.

use super::*;
use gpt_desde_cero::model::bigram;
use ndarray::Array2;

fn random_logits(r: &mut rng::Rng, scale: f32) -> (Array2<f32>, Vec<u32>) {
    let n = r.random_range(1..20);
    let c = r.random_range(2..30);
    let values = rng::normal_vec(r, n * c, 0.0, scale);
    let logits = Array2::from_shape_vec((n, c), values).unwrap();
    let targets = (0..n).map(|_| r.random_range(0..c as u32)).collect();
    (logits, targets)
}

/// Los bordes del muestreo (5.4): `(probs, u)`. Lo esperado es lo que devuelve la biblioteca
/// (`bigram::sample_with`, la regla `u < suma acumulada`); `tests/calificador.rs` comprueba que
/// coincide con el enunciado.
pub const SAMPLE_EDGES: &[(&[f32], f32)] = &[
    // Los tres ejemplos del enunciado: 0, 1 y 2. En `f32`, 0.2 + 0.5 es exactamente 0.7.
    (&[0.2, 0.5, 0.3], 0.1),
    (&[0.2, 0.5, 0.3], 0.69),
    (&[0.2, 0.5, 0.3], 0.7),
    // u = 0 con tokens de probabilidad 0 delante: 1 y 2.
    (&[0.0, 1.0], 0.0),
    (&[0.0, 0.0, 1.0], 0.0),
    // Una suma que vale justo u seguida de un token de probabilidad 0: 2.
    (&[0.25, 0.0, 0.75], 0.25),
    (&[0.5, 0.5], 0.5),
    // Ninguna suma supera u: el último con probabilidad positiva, 1.
    (&[0.3, 0.3, 0.0, 0.0], 0.9),
];

/// Califica `sample(probs, u)` contra la biblioteca y, si difiere, dice por qué suele pasar.
fn check_sample(probs: &[f32], u: f32) -> Grade {
    let input = format!("(probs = {}, u = {})", nums(probs), num(u));
    let got = with_input(&input, || graded::cap05::sample(probs, u));
    let want = bigram::sample_with(probs, u);
    if got == want {
        return Ok(());
    }
    let mut why = Vec::new();
    if let Some(&p) = probs.get(got)
        && p == 0.0
    {
        why.push(format!(
            "el índice {got} tiene probabilidad 0: nunca debe salir"
        ));
    }
    let sum: f32 = probs.iter().take(got + 1).sum();
    if got < probs.len() && sum == u {
        why.push(format!(
            "la suma acumulada hasta el índice {got} vale justo u y no lo supera: ¿>= en vez \
             de >?\n      Devuelve el primer índice cuya suma es estrictamente mayor que u"
        ));
    }
    let why: String = why.iter().map(|w| format!("\n      ({w})")).collect();
    Err(format!(
        "con {input}\n      se esperaba {want}\n      y se obtuvo {got}{why}"
    ))
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap05::cross_entropy",
            title: "Ejercicio 5.1 — Entropía cruzada estable",
            file: "ejercicios/cap05_bigram.rs",
            hint: "resta el máximo de cada fila antes de `exp()`; súmalo de vuelta tras `ln()`.",
            more_hints: &[
                "`logits.rows()` o `index_axis(Axis(0), i)` da cada fila; `fold(f32::NEG_INFINITY, f32::max)` su máximo; `exp()` y `ln()` de `f32`.",
                "para cada fila i: m = máximo, lse = m + ln Σ exp(z − m), suma lse − fila[targets[i]] (en f64 si quieres) y divide por el número de filas al final.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(200, 51, |r| {
                    // Una de cada cuatro pruebas con logits enormes: ahí falla la versión ingenua.
                    let scale = if r.random_range(0..4) == 0 {
                        1000.0
                    } else {
                        3.0
                    };
                    let (logits, targets) = random_logits(r, scale);
                    let input = format!("logits de forma {:?} (escala {scale})", logits.dim());
                    let got = with_input(&input, || {
                        graded::cap05::cross_entropy(logits.view(), &targets)
                    });
                    check_close(
                        &input,
                        &[got],
                        &[bigram::cross_entropy(logits.view(), &targets)],
                        1e-5,
                    )
                })
            },
        },
        Exercise {
            id: "cap05::cross_entropy_grad",
            title: "Ejercicio 5.2 — El gradiente a mano",
            file: "ejercicios/cap05_bigram.rs",
            hint: "cada fila es softmax(fila)/N, con 1/N restado en la columna del objetivo.",
            more_hints: &[
                "`logits.to_owned()` copia la matriz; `axis_iter_mut(Axis(0))` recorre sus filas para modificarlas; `mapv_inplace` cambia cada valor.",
                "para cada fila: m = máximo, cada valor pasa a exp(z − m), se divide por la suma de la fila y por N, y en la columna del objetivo se resta 1/N.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(200, 52, |r| {
                    // Como en 5.1, una de cada cuatro con logits enormes: la softmax de cada
                    // fila también debe restar el máximo.
                    let scale = if r.random_range(0..4) == 0 {
                        1000.0
                    } else {
                        3.0
                    };
                    let (logits, targets) = random_logits(r, scale);
                    let input = format!("logits de forma {:?} (escala {scale})", logits.dim());
                    let got = with_input(&input, || {
                        graded::cap05::cross_entropy_grad(logits.view(), &targets)
                    });
                    let want = bigram::cross_entropy_grad(logits.view(), &targets);
                    if got.dim() != want.dim() {
                        return Err(format!(
                            "la forma debe ser {:?} y es {:?}",
                            want.dim(),
                            got.dim()
                        ));
                    }
                    check_close(
                        &input,
                        got.as_slice()
                            .unwrap_or(&got.iter().copied().collect::<Vec<_>>()),
                        want.as_slice().unwrap(),
                        1e-5,
                    )
                })
            },
        },
        Exercise {
            id: "cap05::adamw_step",
            title: "Ejercicio 5.3 — Un paso de AdamW",
            file: "ejercicios/cap05_bigram.rs",
            hint: "actualiza m y v, corrige el sesgo con 1 − βᵗ y aplica el decaimiento a w.",
            more_hints: &[
                "`b1.powi(t)` eleva un `f32` a un entero; recorre los cuatro slices a la vez con índices `0..w.len()` (o con `zip`).",
                "para cada i: actualiza `m[i]` y `v[i]`, calcula m̂ y v̂ con 1 − βᵗ, y `w[i] = w[i]·(1 − lr·0,01) − lr·m̂/(√v̂ + ε)`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(50, 53, |r| {
                    let n = r.random_range(1..40);
                    let lr = [1e-3f32, 1e-2, 0.1][r.random_range(0..3)];
                    let start = rng::normal_vec(r, n, 0.0, 1.0);
                    let mut w = start.clone();
                    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
                    let mut reference = Array2::from_shape_vec((1, n), start).unwrap();
                    let mut opt = bigram::AdamW::new((1, n), lr);
                    for t in 1..=5 {
                        let g = rng::normal_vec(r, n, 0.0, 1.0);
                        let input = format!("{n} pesos, lr = {}, tras el paso t = {t}", num(lr));
                        with_input(&input, || {
                            graded::cap05::adamw_step(&mut w, &g, &mut m, &mut v, t, lr)
                        });
                        opt.step(&mut reference, &Array2::from_shape_vec((1, n), g).unwrap());
                        check_close(&input, &w, reference.as_slice().unwrap(), 1e-5)?;
                    }
                    Ok(())
                })
            },
        },
        Exercise {
            id: "cap05::sample",
            title: "Ejercicio 5.4 — Muestrear de una distribución",
            file: "ejercicios/cap05_bigram.rs",
            hint: "suma las probabilidades en orden y devuelve el primer índice con suma > u.",
            more_hints: &[
                "un acumulador `f32` y un `for (i, &p) in probs.iter().enumerate()`.",
                "suma p al acumulador; si `u < acumulado`, devuelve i. Apunta también el último i con `p > 0` para devolverlo si el bucle termina sin devolver nada.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                // Primero los bordes, sobre los que advierte el enunciado: las sumas que valen
                // justo u (el ejemplo `u = 0.7 → 2`), los tokens de probabilidad 0 (nunca
                // salen, tampoco con u = 0) y la suma que por redondeo no llega a u.
                for (probs, u) in SAMPLE_EDGES {
                    check_sample(probs, *u)?;
                }
                many(500, 54, |r| {
                    let k = r.random_range(1..12);
                    let mut probs: Vec<f32> = (0..k)
                        .map(|_| {
                            if r.random_range(0..4) == 0 {
                                0.0
                            } else {
                                r.random()
                            }
                        })
                        .collect();
                    let total: f32 = probs.iter().sum();
                    if total == 0.0 {
                        probs[0] = 1.0;
                    } else {
                        probs.iter_mut().for_each(|p| *p /= total);
                    }
                    check_sample(&probs, r.random())
                })
            },
        },
        Exercise {
            id: "cap05::table_loss_and_grad",
            title: "Ejercicio 5.5 — La pérdida de la tabla y su gradiente",
            file: "ejercicios/cap05_bigram.rs",
            hint: "los logits son (N, V) y el gradiente de la tabla es (V, V): la fila i de la derivada de los logits se suma a la fila del token x[i] (puede repetirse).",
            more_hints: &[
                "`table.select(Axis(0), &filas)` reúne las filas `x[i]` en una matriz `(N, V)`; `Array2::zeros(table.raw_dim())` empieza el gradiente; `grad.row_mut(t)` y `+=` suman una fila.",
                "logits = las filas de la tabla; pérdida = tu `cross_entropy(logits.view(), y)`; d = tu `cross_entropy_grad`; para cada i, suma la fila i de d en la fila `x[i]` del gradiente.",
            ],
            optional: false,
            needs: &["cap05::cross_entropy", "cap05::cross_entropy_grad"],
            grade: || {
                many(150, 55, |r| {
                    let v = r.random_range(2..12);
                    let n = r.random_range(1..40);
                    let table = Array2::from_shape_vec((v, v), rng::normal_vec(r, v * v, 0.0, 2.0))
                        .unwrap();
                    // Pocos tokens distintos: así se repiten y hay que sumar.
                    let used = r.random_range(1..=v) as u32;
                    let x: Vec<u32> = (0..n).map(|_| r.random_range(0..used)).collect();
                    let y: Vec<u32> = (0..n).map(|_| r.random_range(0..v as u32)).collect();
                    let input = format!("tabla {v}×{v}, x = {x:?}, y = {y:?}");
                    let (loss, grad) = with_input(&input, || {
                        graded::cap05::table_loss_and_grad(&table, &x, &y)
                    });
                    let (want_loss, want_grad) = bigram::loss_and_grad_naive(&table, &x, &y);
                    check_close(
                        &format!("{input} (la pérdida)"),
                        &[loss],
                        &[want_loss],
                        1e-5,
                    )?;
                    check_array(
                        &format!("{input} (el gradiente de la tabla)"),
                        &grad,
                        &want_grad,
                        1e-5,
                    )
                })
            },
        },
        Exercise {
            id: "cap05::sample_with_temperature",
            title: "Ejercicio 5.6 — Muestrear con temperatura",
            file: "ejercicios/cap05_bigram.rs",
            hint: "primero divide cada logit por τ (`temperature`); después la softmax (restando el máximo) y tu `sample`.",
            more_hints: &[
                "`iter().map(|l| l / temperature)` escala; el máximo con `fold(f32::NEG_INFINITY, f32::max)`; `exp()`, la suma y tu `sample(&probs, u)`.",
                "escala los logits, resta el máximo, exp de cada uno, divide por la suma y llama a tu `sample` con esas probabilidades y `u`.",
            ],
            optional: false,
            needs: &["cap05::sample"],
            grade: || {
                many(500, 56, |r| {
                    let k = r.random_range(1..12);
                    // A veces logits enormes: la softmax debe restar el máximo.
                    let scale = if r.random_range(0..5) == 0 {
                        300.0
                    } else {
                        3.0
                    };
                    let logits = rng::normal_vec(r, k, 0.0, scale);
                    let t = [0.25f32, 0.5, 1.0, 2.0, 5.0][r.random_range(0..5)];
                    let u: f32 = r.random();
                    let scaled: Vec<f32> = logits.iter().map(|l| l / t).collect();
                    let input = format!(
                        "logits = {}, temperatura {}, u = {}",
                        nums(&logits),
                        num(t),
                        num(u)
                    );
                    check(
                        &input,
                        with_input(&input, || {
                            graded::cap05::sample_with_temperature(&logits, t, u)
                        }),
                        bigram::sample_with(&bigram::softmax(&scaled), u),
                    )
                })
            },
        },
        Exercise {
            id: "cap05::warmup_cosine_lr",
            title: "Ejercicio 5.7 (más allá) — Calentamiento y coseno",
            file: "ejercicios/cap05_bigram.rs",
            hint: "tres tramos: recta hasta `warmup`, medio coseno hasta `max_steps` y `min_lr` después. En `step = warmup` el coseno vale 1 y la tasa es `max_lr`.",
            more_hints: &[
                "`std::f64::consts::PI`, `f64::cos`, y `as f64` para pasar los pasos a reales.",
                "un `if step < warmup` (la recta), un `if step > max_steps` (min_lr) y, si no, r y el coseno de la fórmula; comprueba a mano `step = warmup` y `step = max_steps`.",
            ],
            optional: true,
            needs: &[],
            grade: || {
                // La fórmula de nanoGPT (`get_lr`), escrita aquí para comparar.
                fn want(step: usize, warmup: usize, max: usize, hi: f64, lo: f64) -> f64 {
                    if step < warmup {
                        hi * (step + 1) as f64 / warmup as f64
                    } else if step > max {
                        lo
                    } else {
                        let r = (step - warmup) as f64 / (max - warmup) as f64;
                        lo + 0.5 * (1.0 + (std::f64::consts::PI * r).cos()) * (hi - lo)
                    }
                }
                many(300, 57, |r| {
                    let warmup = r.random_range(1..50);
                    let max = warmup + r.random_range(1..500);
                    let (hi, lo) = (r.random_range(1e-4..1e-2), r.random_range(0.0..1e-4));
                    // Los bordes de los tramos, a menudo.
                    let step = match r.random_range(0..4) {
                        0 => warmup,
                        1 => max,
                        2 => max + 1,
                        _ => r.random_range(0..max + 20),
                    };
                    let input = format!(
                        "step = {step}, warmup = {warmup}, max_steps = {max}, max_lr = {hi}, min_lr = {lo}"
                    );
                    let got = with_input(&input, || {
                        graded::cap05::warmup_cosine_lr(step, warmup, max, hi, lo)
                    });
                    let w = want(step, warmup, max, hi, lo);
                    if (got - w).abs() <= 1e-12 + 1e-9 * w.abs() {
                        Ok(())
                    } else {
                        Err(format!(
                            "con {input}\n      se esperaba {w}\n      y se obtuvo {got}"
                        ))
                    }
                })
            },
        },
    ]
}
