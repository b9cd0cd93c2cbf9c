//! Calificadores del capítulo 07: cada pieza del GPT del alumno contra la de la biblioteca,
//! con los mismos pesos y, al entrenar, el mismo RNG.

use std::sync::Arc;

use super::*;
use candle_core::{Device, Tensor, Var};
use gpt_desde_cero::model::adamw::{AdamW, AdamWConfig};
use gpt_desde_cero::model::estimate::{self, Losses};
use gpt_desde_cero::model::gpt::{self, Gpt, GptConfig, Head, Mode, Preset};
use gpt_desde_cero::model::kernels::Reference;
use gpt_desde_cero::model::layers::causal_mask;
use gpt_desde_cero::model::sampling::Sampling;
use gpt_desde_cero::model::train::{self, Trainer};
use gpt_desde_cero::tools::training::{self, RunOptions};
use proptest::strategy::Strategy as _;

/// Un GPT pequeño de forma aleatoria (con dropout `p`), una entrada `(B, T, C)` y su máscara.
fn random_case(r: &mut rng::Rng, p: f32) -> (Gpt, Tensor, Tensor, String) {
    let n_head = r.random_range(1..4);
    let cfg = GptConfig {
        vocab_size: r.random_range(2..20),
        block_size: 8,
        n_embd: n_head * r.random_range(1..5),
        n_head,
        n_layer: r.random_range(1..3),
        dropout: p,
        ..GptConfig::preset(Preset::Diminuto, 2)
    };
    let model = Gpt::new(&cfg, &Device::Cpu, r).unwrap();
    // Pesos más grandes que los iniciales, para que cada cuenta pese en el resultado.
    for (_, var) in model.params.named() {
        let values = rng::normal_vec(r, var.elem_count(), 0.0, 0.5);
        var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap())
            .unwrap();
    }
    let (b, t) = (r.random_range(1..4), r.random_range(1..9));
    let x = rng::normal_vec(r, b * t * cfg.n_embd, 0.0, 1.0);
    let x = Tensor::from_vec(x, (b, t, cfg.n_embd), &Device::Cpu).unwrap();
    let desc = format!(
        "x de forma ({b}, {t}, {}), {} cabezas de tamaño {}, dropout {p}",
        cfg.n_embd,
        cfg.n_head,
        cfg.head_size()
    );
    (model, x, causal_mask(t, &Device::Cpu).unwrap(), desc)
}

/// Compara dos tensores valor a valor (y su forma), con los diagnósticos de [`check_close`].
fn check_tensor(input: &str, got: candle_core::Result<Tensor>, want: &Tensor) -> Grade {
    let got = got.map_err(|e| format!("con {input}\n      la función devolvió el error: {e}"))?;
    if got.dims() != want.dims() {
        let mut why = String::new();
        if got.rank() >= 2 && want.rank() == got.rank() {
            let (mut g, w) = (got.dims().to_vec(), want.dims());
            g.swap(got.rank() - 1, got.rank() - 2);
            if g == w {
                why = " (¿traspuesta? Son las dos últimas dimensiones cambiadas)".into();
            }
        }
        return Err(format!(
            "con {input}\n      se esperaba la forma {:?}\n      y se obtuvo {:?}{why}",
            want.dims(),
            got.dims()
        ));
    }
    let g: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
    let w: Vec<f32> = want.flatten_all().unwrap().to_vec1().unwrap();
    check_close(input, &g, &w, 1e-4)
}

/// La mayor diferencia, en valor absoluto, entre dos tensores de la misma forma.
fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// `Mode::Train` con un RNG nuevo de semilla `seed`, o `Mode::Eval`.
fn run_mode<T>(seed: Option<u64>, f: impl FnOnce(&mut Mode) -> T) -> (T, Option<u64>) {
    match seed {
        Some(s) => {
            let mut r = rng::seeded(s);
            let out = f(&mut Mode::Train(&mut r));
            (out, Some(r.random()))
        }
        None => (f(&mut Mode::Eval), None),
    }
}

/// Califica una pieza con dropout: primero evaluando, después entrenando con el mismo RNG
/// que la biblioteca (mismos valores, y el RNG debe acabar en el mismo sitio).
fn grade_piece(
    seed: u64,
    cases: usize,
    mine: fn(&Gpt, &Tensor, &Tensor, &mut Mode) -> candle_core::Result<Tensor>,
    lib: fn(&Gpt, &Tensor, &Tensor, &mut Mode) -> candle_core::Result<Tensor>,
) -> Grade {
    many(cases, seed, |r| {
        let training = r.random_bool(0.5);
        let p = if training { 0.3 } else { 0.0 };
        let (m, x, mask, desc) = random_case(r, p);
        let s = training.then(|| r.random::<u64>());
        let what = if training {
            "entrenando (Mode::Train)"
        } else {
            "evaluando (Mode::Eval)"
        };
        let input = format!("{desc}, {what}");
        let (want, want_next) = run_mode(s, |mode| lib(&m, &x, &mask, mode).unwrap());
        let (got, got_next) = run_mode(s, |mode| with_input(&input, || mine(&m, &x, &mask, mode)));
        check_tensor(&input, got, &want)?;
        check(
            &format!(
                "{input}: el RNG tras la llamada (¿sacas tantos números como la biblioteca, en el mismo orden?)"
            ),
            got_next,
            want_next,
        )
    })
}

/// Un corpus de juguete de `len` tokens de un vocabulario de `vocab`, ya partido.
fn toy_dataset(r: &mut rng::Rng, len: usize, vocab: u32) -> dataset::Dataset {
    let data: Array1<u32> = (0..len).map(|_| r.random_range(0..vocab)).collect();
    dataset::Dataset::split(&data, 0.9)
}

/// Un GPT diminuto para entrenar en el calificador.
fn tiny_config(r: &mut rng::Rng) -> GptConfig {
    GptConfig {
        vocab_size: 7,
        block_size: 4,
        n_embd: 8,
        n_head: 2,
        n_layer: 1,
        dropout: 0.2,
        batch_size: 3,
        learning_rate: 1e-2,
        max_iters: r.random_range(3..7),
        eval_interval: 2,
        eval_iters: 2,
        activation: gpt_desde_cero::model::gpt::Activation::Relu,
        lr_schedule: gpt_desde_cero::model::gpt::LrSchedule::Constant,
    }
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap07::dropout",
            title: "Ejercicio 7.1 — Dropout",
            file: "ejercicios/cap07_gpt.rs",
            hint: "un número del RNG por elemento, en orden; se apaga si es menor que p y el resto se multiplica por 1/(1−p). Al evaluar, o con p = 0, ni un número del RNG.",
            more_hints: &[
                "`match mode { Mode::Train(rng) if p > 0.0 => …, _ => Ok(x.clone()) }`; `rng.random::<f32>()`; `Tensor::from_vec(v, x.shape(), x.device())`; `x * máscara` (o `x.mul(&máscara)`).",
                "al entrenar con p > 0: un `Vec<f32>` de `x.elem_count()` valores, 0 si el número del RNG es < p y 1/(1−p) si no; conviértelo en tensor con la forma de x y multiplica.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                // El borde: el número del RNG vale justo p. Con la semilla s, p es el primer
                // número que saca el RNG: ese elemento se queda (se apaga si es *menor* que p).
                for s in [7u64, 8, 9] {
                    let p: f32 = rng::seeded(s).random();
                    let x = Tensor::new(&[1.5f32, -2.0, 0.25], &Device::Cpu).unwrap();
                    let input = format!(
                        "x = {}, p = {}, entrenando, y el primer número del RNG vale justo p",
                        nums(&[1.5, -2.0, 0.25]),
                        num(p)
                    );
                    let (want, _) = run_mode(Some(s), |mode| mode.dropout(&x, p).unwrap());
                    let (got, _) = run_mode(Some(s), |mode| {
                        with_input(&input, || graded::cap07::dropout(&x, p, mode))
                    });
                    check_tensor(&input, got, &want).map_err(|e| {
                        format!("{e}\n      (un número igual a p no apaga: ¿<= en vez de <?)")
                    })?;
                }
                many(80, 70, |r| {
                    let shape: Vec<usize> = (0..r.random_range(1..4))
                        .map(|_| r.random_range(1..6))
                        .collect();
                    let n: usize = shape.iter().product();
                    let x = Tensor::from_vec(
                        rng::normal_vec(r, n, 0.0, 1.0),
                        shape.as_slice(),
                        &Device::Cpu,
                    )
                    .unwrap();
                    let p = [0.0f32, 0.1, 0.5, 0.9][r.random_range(0..4)];
                    let training = r.random_bool(0.7);
                    let s = training.then(|| r.random::<u64>());
                    let input = format!(
                        "x de forma {shape:?}, p = {}, {}",
                        num(p),
                        if training { "entrenando" } else { "evaluando" }
                    );
                    let (want, want_next) = run_mode(s, |mode| mode.dropout(&x, p).unwrap());
                    let (got, got_next) = run_mode(s, |mode| {
                        with_input(&input, || graded::cap07::dropout(&x, p, mode))
                    });
                    check_tensor(&input, got, &want)?;
                    check(
                        &format!(
                            "{input}: el RNG tras la llamada (¿un número por elemento, y ninguno si no hay dropout?)"
                        ),
                        got_next,
                        want_next,
                    )
                })
            },
        },
        Exercise {
            id: "cap07::layer_norm",
            title: "Ejercicio 7.2 — LayerNorm",
            file: "ejercicios/cap07_gpt.rs",
            hint: "media y varianza de la última dimensión (con keepdim), la varianza es la media de los cuadrados de lo centrado (dividir por C, no por C−1), y eps va dentro de la raíz. Solo operaciones sueltas: la derivada debe llegar a x, weight y bias.",
            more_hints: &[
                "`x.mean_keepdim(D::Minus1)`, `sqr()`, `sqrt()`, `broadcast_sub`, `broadcast_div`, `broadcast_mul` y `broadcast_add`; `(t + ln.eps)` suma un número.",
                "centrado = x − media; var = media de centrado²; std = √(var + eps); centrado / std · weight + bias (todo con `broadcast_…`).",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(40, 72, |r| {
                    let (m, x, _, desc) = random_case(r, 0.0);
                    let ln = &m.blocks[0].ln1;
                    let input = format!("{desc} (ln1 del primer bloque)");
                    let want = ln.forward(&x).unwrap();
                    let xv = Var::from_tensor(&x).unwrap();
                    let got = with_input(&input, || graded::cap07::layer_norm(ln, xv.as_tensor()))
                        .map_err(|e| {
                            format!("con {input}\n      la función devolvió el error: {e}")
                        })?;
                    check_tensor(&input, Ok(got.clone()), &want)?;
                    // Las derivadas: de una suma ponderada al azar de la salida.
                    let weights = Tensor::from_vec(
                        rng::normal_vec(r, want.elem_count(), 0.0, 1.0),
                        want.shape(),
                        &Device::Cpu,
                    )
                    .unwrap();
                    let grads_of = |out: &Tensor| {
                        out.mul(&weights)
                            .unwrap()
                            .sum_all()
                            .unwrap()
                            .backward()
                            .unwrap()
                    };
                    let mine = grads_of(&got);
                    let xw = Var::from_tensor(&x).unwrap();
                    let lib = grads_of(&ln.forward(xw.as_tensor()).unwrap());
                    for (name, a, b) in [
                        ("x", xv.as_tensor(), xw.as_tensor()),
                        ("weight", &ln.weight, &ln.weight),
                        ("bias", &ln.bias, &ln.bias),
                    ] {
                        let what = format!("{input}: la derivada respecto de {name}");
                        let Some(g) = mine.get(a) else {
                            return Err(format!(
                                "con {what}\n      no llega ninguna derivada: ¿usaste la LayerNorm fusionada de candle_nn, que no tiene, o desconectaste el tensor?"
                            ));
                        };
                        check_tensor(&what, Ok(g.clone()), lib.get(b).unwrap())?;
                    }
                    Ok(())
                })
            },
        },
        Exercise {
            id: "cap07::head_forward",
            title: "Ejercicio 7.3 — Una cabeza de autoatención",
            file: "ejercicios/cap07_gpt.rs",
            hint: "q·kᵀ de forma (B, T, T), por 1/√d_k; la máscara y la softmax; tu dropout sobre esos pesos (no sobre la salida); y pesos·v.",
            more_hints: &[
                "`head.key.forward(x)` (con `Module`), `k.t()` traspone las dos últimas dimensiones, `q.matmul(&…)`, `t * escala`; `layers::masked_softmax(&afinidades, mask)` y tu `dropout(&pesos, head.dropout, mode)`.",
                "k, q, v; escala = 1/√d_k (d_k = `k.dim(D::Minus1)?`); afinidades = q·kᵀ·escala; pesos = tu dropout de masked_softmax(afinidades, mask); devuelve pesos.matmul(&v).",
            ],
            optional: false,
            needs: &["cap07::dropout"],
            grade: || {
                // Dos errores comunes se reconocen aparte: sin máscara (todo a la vista) y las
                // afinidades traspuestas (k·qᵀ). Los casos son de varias posiciones, donde los
                // dos se notan de verdad.
                many(20, 730, |r| {
                    let (m, x, mask, desc) = random_case(r, 0.0);
                    let head = &m.blocks[0].sa.heads[0];
                    let all = mask.ones_like().unwrap();
                    let unmasked = head.forward(&x, &all, &mut Mode::Eval).unwrap();
                    let want = head.forward(&x, &mask, &mut Mode::Eval).unwrap();
                    // k·qᵀ es q·kᵀ con la clave y la consulta cambiadas de papel.
                    let swapped = Head {
                        key: head.query.clone(),
                        query: head.key.clone(),
                        ..head.clone()
                    };
                    let transposed = swapped.forward(&x, &mask, &mut Mode::Eval).unwrap();
                    // Con una sola posición no hay futuro que tapar ni nada que trasponer; con
                    // pocas, la diferencia puede ser mínima: solo los casos en que se ve.
                    let mask_shows = max_abs_diff(&unmasked, &want) > 0.05;
                    let transpose_shows = max_abs_diff(&transposed, &want) > 0.05;
                    if !mask_shows && !transpose_shows {
                        return Ok(());
                    }
                    let got = with_input(&desc, || {
                        graded::cap07::head_forward(head, &x, &mask, &mut Mode::Eval)
                    });
                    let Ok(got) = got else { return Ok(()) };
                    if check_tensor(&desc, Ok(got.clone()), &want).is_ok() {
                        return Ok(());
                    }
                    if mask_shows && check_tensor(&desc, Ok(got.clone()), &unmasked).is_ok() {
                        return Err(format!(
                            "con {desc}\n      tu salida es la de una cabeza sin máscara: cada \
                             posición mira también el futuro (¿pasaste `mask` a la softmax?)"
                        ));
                    }
                    if transpose_shows && check_tensor(&desc, Ok(got.clone()), &transposed).is_ok()
                    {
                        return Err(format!(
                            "con {desc}\n      tus afinidades están traspuestas: ¿k·qᵀ en vez de \
                             q·kᵀ? la traspuesta\n      (la fila i es la consulta de i contra \
                             las claves de cada j ≤ i)"
                        ));
                    }
                    // Otro error: lo enseña en un caso en que se nota.
                    check_tensor(&desc, Ok(got), &want)
                })?;
                grade_piece(
                    73,
                    40,
                    |m, x, mask, mode| {
                        graded::cap07::head_forward(&m.blocks[0].sa.heads[0], x, mask, mode)
                    },
                    |m, x, mask, mode| m.blocks[0].sa.heads[0].forward(x, mask, mode),
                )
            },
        },
        Exercise {
            id: "cap07::multi_head_attention",
            title: "Ejercicio 7.4 — Atención de varias cabezas",
            file: "ejercicios/cap07_gpt.rs",
            hint: "tus cabezas en orden sobre la misma x, concatenadas en la última dimensión (n_head·d_k canales), la proyección `proj` y, al final, tu dropout.",
            more_hints: &[
                "tu `head_forward(cabeza, x, mask, mode)` para cada `sa.heads`; `Tensor::cat(&salidas, D::Minus1)`; `sa.proj.forward(&…)`; tu `dropout` con `sa.dropout`.",
                "un `Vec` con la salida de cada cabeza, en orden; concatena en la última dimensión; proyecta; dropout; devuelve.",
            ],
            optional: false,
            needs: &["cap07::head_forward", "cap07::dropout"],
            grade: || {
                grade_piece(
                    74,
                    40,
                    |m, x, mask, mode| {
                        graded::cap07::multi_head_attention(&m.blocks[0].sa, x, mask, mode)
                    },
                    |m, x, mask, mode| m.blocks[0].sa.forward(x, mask, mode),
                )
            },
        },
        Exercise {
            id: "cap07::feed_forward",
            title: "Ejercicio 7.5 — La red de avance",
            file: "ejercicios/cap07_gpt.rs",
            hint: "C → 4·C → la no linealidad (ReLU, o la que pida `ffwd.activation`) → C, y tu dropout al final.",
            more_hints: &[
                "`ffwd.up.forward(x)`, `activation(&…, ffwd.activation)` (ya escrita en tu archivo), `ffwd.down.forward(&…)` y tu `dropout(…, ffwd.dropout, mode)`.",
                "cuatro pasos, uno por línea: ensanchar, la no linealidad con `activation`, estrechar y dropout.",
            ],
            optional: false,
            needs: &["cap07::dropout"],
            grade: || {
                grade_piece(
                    75,
                    40,
                    |m, x, _, mode| graded::cap07::feed_forward(&m.blocks[0].ffwd, x, mode),
                    |m, x, _, mode| m.blocks[0].ffwd.forward(x, mode),
                )
            },
        },
        Exercise {
            id: "cap07::block_forward",
            title: "Ejercicio 7.6 — El bloque con conexiones residuales",
            file: "ejercicios/cap07_gpt.rs",
            hint: "dos sumas: la entrada más la atención de (la entrada normalizada con ln1); después eso más la red de avance de (eso normalizado con ln2).",
            more_hints: &[
                "tu `layer_norm(&block.ln1, x)`, tu `multi_head_attention(&block.sa, …)`, tu `feed_forward(&block.ffwd, …)`, y `x.add(&y)` o `(&x + &y)` para la suma.",
                "a = x + atención(ln1(x)); devuelve a + red_de_avance(ln2(a)). La LayerNorm va sobre lo que entra en cada subcapa, no sobre la suma.",
            ],
            optional: false,
            needs: &[
                "cap07::layer_norm",
                "cap07::multi_head_attention",
                "cap07::feed_forward",
            ],
            grade: || {
                grade_piece(
                    76,
                    40,
                    |m, x, mask, mode| graded::cap07::block_forward(&m.blocks[0], x, mask, mode),
                    |m, x, mask, mode| m.blocks[0].forward(x, mask, mode),
                )
            },
        },
        Exercise {
            id: "cap07::gpt_forward",
            title: "Ejercicio 7.7 — El modelo entero",
            file: "ejercicios/cap07_gpt.rs",
            hint: "tokens (B, T, C) más posiciones (T, C) (con broadcast), la máscara de tamaño T, todos los bloques en orden, ln_f y lm_head: (B, T, V).",
            more_hints: &[
                "`idx.dim(1)` es T; `Tensor::arange(0u32, t as u32, idx.device())` da las posiciones; una tabla de incrustación es un `Module` (`tabla.forward(&ids)`); `broadcast_add`; `layers::causal_mask(t, idx.device())`.",
                "x = tokens (B, T, C) `broadcast_add` posiciones (T, C); la máscara; x = tu bloque con cada `model.blocks`, en orden; devuelve `model.lm_head.forward(&tu layer_norm(&model.ln_f, &x))`.",
            ],
            optional: false,
            needs: &["cap07::block_forward", "cap07::layer_norm"],
            grade: || {
                many(40, 77, |r| {
                    let training = r.random_bool(0.5);
                    let (m, _, _, desc) = random_case(r, if training { 0.3 } else { 0.0 });
                    let (b, t) = (
                        r.random_range(1..4),
                        r.random_range(1..=m.config.block_size),
                    );
                    let ids: Vec<u32> = (0..b * t)
                        .map(|_| r.random_range(0..m.config.vocab_size as u32))
                        .collect();
                    let idx = Tensor::from_vec(ids.clone(), (b, t), &Device::Cpu).unwrap();
                    let s = training.then(|| r.random::<u64>());
                    let input = format!(
                        "{desc}, {} bloques, idx de forma ({b}, {t}) = {ids:?}, {}",
                        m.config.n_layer,
                        if training { "entrenando" } else { "evaluando" }
                    );
                    let (want, want_next) = run_mode(s, |mode| m.forward(&idx, mode).unwrap());
                    let (got, got_next) = run_mode(s, |mode| {
                        with_input(&input, || graded::cap07::gpt_forward(&m, &idx, mode))
                    });
                    check_tensor(&input, got, &want)?;
                    check(
                        &format!("{input}: el RNG tras la llamada"),
                        got_next,
                        want_next,
                    )
                })
            },
        },
        Exercise {
            id: "cap07::gpt_loss",
            title: "Ejercicio 7.8 — La pérdida",
            file: "ejercicios/cap07_gpt.rs",
            hint: "logits (B, T, V) → (B·T, V) y objetivos (B, T) → (B·T); luego la entropía cruzada. Debe ser un escalar.",
            more_hints: &[
                "tu `gpt_forward(model, idx, mode)` (pásale el mismo `mode`), `logits.dims3()`, `reshape((b * t, v))`, `targets.flatten_all()` y `layers::cross_entropy(&logits, &objetivos)`, que tiene derivada.",
                "logits; (b, t, v) = dims3; aplana logits a (B·T, V) y los objetivos a (B·T); devuelve la entropía cruzada.",
            ],
            optional: false,
            needs: &["cap07::gpt_forward"],
            grade: || {
                many(40, 78, |r| {
                    let (m, _, _, desc) = random_case(r, 0.0);
                    let (b, t) = (
                        r.random_range(1..4),
                        r.random_range(1..=m.config.block_size),
                    );
                    let v = m.config.vocab_size as u32;
                    let ids = |r: &mut rng::Rng| -> Tensor {
                        let v: Vec<u32> = (0..b * t).map(|_| r.random_range(0..v)).collect();
                        Tensor::from_vec(v, (b, t), &Device::Cpu).unwrap()
                    };
                    let (x, y) = (ids(r), ids(r));
                    let input = format!("{desc}, lotes de forma ({b}, {t})");
                    let want = m.loss(&x, &y, &mut Mode::Eval).unwrap();
                    let got = with_input(&input, || {
                        graded::cap07::gpt_loss(&m, &x, &y, &mut Mode::Eval)
                    });
                    check_tensor(&input, got, &want)?;
                    // Entrenando, con dropout: el modo debe llegar a tu gpt_forward.
                    let m = Gpt::new(
                        &GptConfig {
                            dropout: 0.3,
                            ..m.config.clone()
                        },
                        &Device::Cpu,
                        r,
                    )
                    .unwrap();
                    let s = r.random::<u64>();
                    let input = format!("{input}, entrenando con dropout {}", num(0.3));
                    let (want, want_next) = run_mode(Some(s), |mode| m.loss(&x, &y, mode).unwrap());
                    let (got, got_next) = run_mode(Some(s), |mode| {
                        with_input(&input, || graded::cap07::gpt_loss(&m, &x, &y, mode))
                    });
                    check_tensor(&input, got, &want)?;
                    check(
                        &format!(
                            "{input}: el RNG tras la llamada (¿pasas `mode` a tu gpt_forward?)"
                        ),
                        got_next,
                        want_next,
                    )
                })
            },
        },
        Exercise {
            id: "cap07::estimate_loss",
            title: "Ejercicio 7.9 — estimate_loss",
            file: "ejercicios/cap07_gpt.rs",
            hint: "primero los eval_iters lotes de entrenamiento y después los de validación, todos del mismo rng y con tu get_batch; sin dropout; la media de cada parte.",
            more_hints: &[
                "`crate::cap04::get_batch(datos.view(), batch, block, rng)`, `to_tensor(&x, model.device())`, tu `gpt_loss(model, &x, &y, &mut Mode::Eval)` y `perdida.to_scalar::<f32>()`.",
                "para cada parte, primero `ds.train` y luego `ds.val`: `eval_iters` veces lote, pérdida y suma (en f64); la media de cada parte va en `Losses { train, val }`.",
            ],
            optional: false,
            needs: &["cap04::get_batch", "cap07::gpt_loss"],
            grade: || {
                many(12, 79, |r| {
                    let cfg = tiny_config(r);
                    let ds = toy_dataset(r, 300, cfg.vocab_size as u32);
                    let model = Gpt::new(&cfg, &Device::Cpu, r).unwrap();
                    let (iters, seed) = (r.random_range(1..5), r.random::<u64>());
                    let input = format!("un GPT diminuto, eval_iters = {iters}, semilla {seed}");
                    let batch = (cfg.batch_size, cfg.block_size);
                    let want =
                        estimate::estimate_loss(&ds, batch, iters, &mut rng::seeded(seed), |bs| {
                            bs.iter()
                                .map(|(x, y)| {
                                    let (x, y) = (
                                        batches::to_tensor(x, &Device::Cpu)?,
                                        batches::to_tensor(y, &Device::Cpu)?,
                                    );
                                    model.loss(&x, &y, &mut Mode::Eval)?.to_scalar::<f32>()
                                })
                                .collect::<candle_core::Result<Vec<_>>>()
                        })
                        .unwrap();
                    let got = with_input(&input, || {
                        graded::cap07::estimate_loss(&model, &ds, iters, &mut rng::seeded(seed))
                    })
                    .map_err(|e| format!("con {input}\n      la función devolvió el error: {e}"))?;
                    check_close(
                        &format!("{input} (train, val)"),
                        &[got.train, got.val],
                        &[want.train, want.val],
                        1e-5,
                    )
                })
            },
        },
        Exercise {
            id: "cap07::train",
            title: "Ejercicio 7.10 — El bucle de entrenamiento",
            file: "ejercicios/cap07_gpt.rs",
            hint: "en cada paso: ¿toca estimar? (múltiplo de eval_interval o el último) con eval_rng(seed, iter); luego step_rng(seed, iter) para el lote y para el dropout de la pérdida; backward y optimizer.step.",
            more_hints: &[
                "`eval_rng(seed, iter)` y `step_rng(seed, iter)` crean los RNG; tu `estimate_loss`, tu `get_batch`, tu `gpt_loss` con `Mode::Train(&mut rng)`, `loss.backward()`, `optimizer.step(&derivadas)` y `loss.to_scalar::<f32>()`.",
                "para iter en 0..max_iters: si iter % eval_interval == 0 o iter == max_iters − 1, estima con `eval_rng(seed, iter)` y llama a `on_eval`; luego rng = `step_rng(seed, iter)`, lote, pérdida entrenando con ese rng, backward, step y `on_step(iter, pérdida)`.",
            ],
            optional: false,
            needs: &[
                "cap04::get_batch",
                "cap07::gpt_loss",
                "cap07::estimate_loss",
            ],
            grade: || {
                many(4, 80, |r| {
                    let cfg = tiny_config(r);
                    let ds = toy_dataset(r, 300, cfg.vocab_size as u32);
                    let seed = r.random::<u64>();
                    let input = format!(
                        "un GPT diminuto, max_iters = {}, eval_interval = {}, semilla {seed}",
                        cfg.max_iters, cfg.eval_interval
                    );
                    // La biblioteca: su entrenador, sin puntos de control.
                    let mut lib =
                        Trainer::new(&cfg, &Device::Cpu, seed, Arc::new(Reference)).unwrap();
                    let (mut lib_evals, mut lib_steps) = (Vec::new(), Vec::new());
                    let options = RunOptions {
                        time_limit: None,
                        outputs: None,
                    };
                    training::run(&mut lib, &ds, &[], &options, |e| match e {
                        training::Event::Eval { point, .. } => {
                            lib_evals.push((point.step, point.train, point.val))
                        }
                        training::Event::Step { loss, .. } => lib_steps.push(loss),
                    })
                    .unwrap();
                    // Tu bucle, con el mismo modelo inicial y el mismo optimizador.
                    let model = Gpt::new(&cfg, &Device::Cpu, &mut train::init_rng(seed)).unwrap();
                    let mut opt =
                        AdamW::new(model.params.vars(), AdamWConfig::with_lr(cfg.learning_rate))
                            .unwrap();
                    let (mut evals, mut steps) = (Vec::new(), Vec::new());
                    with_input(&input, || {
                        graded::cap07::train(
                            &model,
                            &mut opt,
                            &ds,
                            seed,
                            |_, loss| steps.push(loss),
                            |iter, l: Losses| evals.push((iter, l.train, l.val)),
                        )
                    })
                    .map_err(|e| format!("con {input}\n      la función devolvió el error: {e}"))?;
                    let at = |v: &[(usize, f32, f32)]| v.iter().map(|e| e.0).collect::<Vec<_>>();
                    check(
                        &format!("{input}: los pasos en que estimas la pérdida"),
                        at(&evals),
                        at(&lib_evals),
                    )?;
                    let flat = |v: &[(usize, f32, f32)]| {
                        v.iter().flat_map(|e| [e.1, e.2]).collect::<Vec<_>>()
                    };
                    check_close(
                        &format!("{input}: las estimaciones (train, val, …)"),
                        &flat(&evals),
                        &flat(&lib_evals),
                        1e-4,
                    )?;
                    check_close(
                        &format!("{input}: la pérdida de cada paso"),
                        &steps,
                        &lib_steps,
                        1e-4,
                    )?;
                    let weights = |m: &Gpt| -> Vec<f32> {
                        m.params
                            .named()
                            .iter()
                            .flat_map(|(_, v)| v.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                            .collect()
                    };
                    check_close(
                        &format!("{input}: los pesos al terminar"),
                        &weights(&model),
                        &weights(&lib.model),
                        1e-3,
                    )
                })
            },
        },
        Exercise {
            id: "cap07::generate",
            title: "Ejercicio 7.11 — Generar, con recorte del contexto",
            file: "ejercicios/cap07_gpt.rs",
            hint: "en cada paso, solo los últimos block_size tokens (si el texto es más corto, todos), forma (1, T); los logits de la última posición; `choose`; y devuelve solo lo nuevo.",
            more_hints: &[
                "`ids.len().saturating_sub(block_size)` da dónde empieza el trozo; `Tensor::new(trozo, model.device())?.unsqueeze(0)?` la forma (1, T); `logits.i((0, t - 1))?` la última fila; `to_vec1::<f32>()`; `choose(&logits)`.",
                "copia el prompt en un `Vec`; max_new_tokens veces: trozo = los últimos block_size, tu gpt_forward con `Mode::Eval`, los logits de la última posición, `choose(&logits)` y añade lo que elija; devuelve lo que va detrás del prompt.",
            ],
            optional: false,
            needs: &["cap07::gpt_forward"],
            grade: || {
                many(20, 81, |r| {
                    let (m, _, _, desc) = random_case(r, 0.0);
                    // A veces más largo que block_size: ahí hay que recortar.
                    let len = r.random_range(1..2 * m.config.block_size + 2);
                    let prompt: Vec<u32> = (0..len)
                        .map(|_| r.random_range(0..m.config.vocab_size as u32))
                        .collect();
                    let n = r.random_range(0..12);
                    let sampling = Sampling {
                        temperature: [0.5f32, 1.0, 2.0][r.random_range(0..3)],
                        top_k: r.random_bool(0.3).then(|| r.random_range(1..4)),
                        top_p: r.random_bool(0.3).then(|| r.random_range(0.3..1.0)),
                    };
                    let seed = r.random::<u64>();
                    let input = format!(
                        "{desc}, block_size = {}, prompt de {len} tokens, {n} tokens nuevos, {sampling:?}",
                        m.config.block_size
                    );
                    let want =
                        gpt::generate(&m, &prompt, n, sampling, &mut rng::seeded(seed), |_| {})
                            .unwrap();
                    // Quien llama decide cómo elegir: aquí, como la biblioteca.
                    let mut r = rng::seeded(seed);
                    let got = with_input(&input, || {
                        graded::cap07::generate(&m, &prompt, n, |l| {
                            gpt::choose_next(l, sampling, &mut r)
                        })
                    })
                    .map_err(|e| format!("con {input}\n      la función devolvió el error: {e} (¿le diste más de block_size posiciones?)"))?;
                    check(&input, got, want)
                })
            },
        },
        Exercise {
            id: "cap07::top_k_filter",
            title: "Ejercicio 7.12 — Muestreo top-k",
            file: "ejercicios/cap07_gpt.rs",
            hint: "el umbral es el k-ésimo valor más alto (contando repetidos); lo que queda por debajo pasa a -inf.",
            more_hints: &[
                "ordena una copia (o sus índices) de mayor a menor con `sort_by(|a, b| b.total_cmp(a))`: `f32` no es `Ord`.",
                "si k es 0 o ≥ len, devuelve la copia; si no, umbral = el k-ésimo de la copia ordenada (índice k − 1) y cambia a `f32::NEG_INFINITY` cada valor < umbral.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                // Valores pequeños y enteros a menudo, para que haya empates.
                let value = proptest::prop_oneof![(-3..4i32).prop_map(|v| v as f32), -5.0..5.0f32];
                let case = proptest::collection::vec(value, 1..12).prop_flat_map(|logits| {
                    let n = logits.len();
                    (proptest::strategy::Just(logits), 0..n + 2)
                });
                shrinking(73, 300, case, |(logits, k)| {
                    let input = format!("logits = {}, k = {k}", nums(&logits));
                    check(
                        &input,
                        graded::cap07::top_k_filter(&logits, k),
                        gpt::top_k_filter(&logits, k),
                    )
                })
            },
        },
        Exercise {
            id: "cap07::top_p_filter",
            title: "Ejercicio 7.13 (más allá) — Muestreo top-p",
            file: "ejercicios/cap07_gpt.rs",
            hint: "ordena de mayor a menor, acumula las probabilidades (softmax) y para en cuanto la suma llegue a p: el logit del último que entró es el umbral.",
            more_hints: &[
                "ordena una copia de mayor a menor (`total_cmp`), calcula su softmax (restando el máximo; en f64 si quieres) y acumula.",
                "umbral = el logit ordenado en el que la suma acumulada llega a p (si ninguno, el último); devuelve los logits con cada valor < umbral cambiado a `f32::NEG_INFINITY`.",
            ],
            optional: true,
            needs: &[],
            grade: || {
                many(300, 713, |r| {
                    let n = r.random_range(1..10);
                    let logits: Vec<f32> = (0..n)
                        .map(|_| {
                            if r.random_bool(0.3) {
                                r.random_range(-2..3) as f32
                            } else {
                                r.random_range(-4.0..4.0)
                            }
                        })
                        .collect();
                    let mut sorted = logits.clone();
                    sorted.sort_by(|a, b| b.total_cmp(a));
                    let probs =
                        gpt::softmax(&sorted.iter().map(|&l| f64::from(l)).collect::<Vec<_>>());
                    let cumulative: Vec<f64> = probs
                        .iter()
                        .scan(0.0, |a, &p| {
                            *a += p;
                            Some(*a)
                        })
                        .collect();
                    // Un p lejos de las sumas acumuladas: el redondeo no decide el resultado.
                    let p = loop {
                        let p: f64 = r.random_range(0.05..1.0);
                        if cumulative.iter().all(|c| (c - p).abs() > 1e-3) {
                            break p as f32;
                        }
                    };
                    let m = cumulative
                        .iter()
                        .position(|&c| c >= f64::from(p))
                        .unwrap_or(n - 1);
                    let threshold = sorted[m];
                    let want: Vec<f32> = logits
                        .iter()
                        .map(|&l| if l < threshold { f32::NEG_INFINITY } else { l })
                        .collect();
                    let input = format!("logits = {}, p = {}", nums(&logits), num(p));
                    check(
                        &input,
                        with_input(&input, || graded::cap07::top_p_filter(&logits, p)),
                        want,
                    )
                })
            },
        },
    ]
}

/// Las piezas de tu GPT y su bucle, en el orden en que las usa `--entrenar gpt`.
pub const GPT_PIECES: &[&str] = &[
    "cap04::batch_at",
    "cap04::get_batch",
    "cap07::dropout",
    "cap07::layer_norm",
    "cap07::head_forward",
    "cap07::multi_head_attention",
    "cap07::feed_forward",
    "cap07::block_forward",
    "cap07::gpt_forward",
    "cap07::gpt_loss",
    "cap07::estimate_loss",
    "cap07::train",
    "cap07::generate",
];

/// Con `--entrenar gpt --activacion gelu`: tu 7.5 aplica la no linealidad que pide
/// `ffwd.activation` (con GELU, la de tu 6.4) y no siempre ReLU. Se comprueba antes de
/// entrenar, con un modelo diminuto y su red de avance de la biblioteca con GELU.
pub fn feed_forward_follows_the_activation() -> Result<(), String> {
    let cfg = GptConfig {
        activation: gpt::Activation::Gelu,
        ..GptConfig::preset(Preset::Diminuto, 7)
    };
    let r = &mut rng::seeded(75);
    let model = Gpt::new(&cfg, &Device::Cpu, r).map_err(|e| e.to_string())?;
    let x = rng::normal_vec(r, 2 * 3 * cfg.n_embd, 0.0, 1.0);
    let x = Tensor::from_vec(x, (2, 3, cfg.n_embd), &Device::Cpu).map_err(|e| e.to_string())?;
    let ffwd = &model.blocks[0].ffwd;
    let want = ffwd
        .forward(&x, &mut Mode::Eval)
        .map_err(|e| e.to_string())?;
    let got = graded::cap07::feed_forward(ffwd, &x, &mut Mode::Eval)
        .map_err(|e| format!("tu 7.5 devolvió un error con GELU: {e}"))?;
    if got.dims() == want.dims() && max_abs_diff(&got, &want) < 1e-4 {
        return Ok(());
    }
    Err(
        "tu red de avance (7.5) no aplica la GELU que pide `ffwd.activation`: pasa lo que \
         sale de `ffwd.up` por `activation(&…, ffwd.activation)`, ya escrita en tu archivo"
            .into(),
    )
}
