//! Calificadores del capítulo 07.

use super::*;
use candle_core::{Device, Module, Tensor};
use gpt_desde_cero::model::gpt::{self, Gpt, GptConfig, Mode, Preset};
use gpt_desde_cero::model::layers::causal_mask;

/// Un GPT pequeño de forma aleatoria, una entrada `(B, T, C)` y su máscara causal.
fn random_case(r: &mut rng::Rng) -> (Gpt, Tensor, Tensor, String) {
    let n_head = r.random_range(1..4);
    let cfg = GptConfig {
        vocab_size: r.random_range(2..20),
        block_size: 8,
        n_embd: n_head * r.random_range(1..5),
        n_head,
        n_layer: 1,
        dropout: 0.0,
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
        "x de forma ({b}, {t}, {}), {} cabezas de tamaño {}",
        cfg.n_embd,
        cfg.n_head,
        cfg.head_size()
    );
    (model, x, causal_mask(t, &Device::Cpu).unwrap(), desc)
}

/// Compara dos tensores valor a valor (y su forma).
fn check_tensor(input: &str, got: candle_core::Result<Tensor>, want: &Tensor) -> Grade {
    let got = got.map_err(|e| format!("con {input}\n      la función devolvió el error: {e}"))?;
    if got.dims() != want.dims() {
        return Err(format!(
            "con {input}\n      se esperaba la forma {:?}\n      y se obtuvo {:?}",
            want.dims(),
            got.dims()
        ));
    }
    let g: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
    let w: Vec<f32> = want.flatten_all().unwrap().to_vec1().unwrap();
    match g
        .iter()
        .zip(&w)
        .position(|(a, b)| !a.is_finite() || (a - b).abs() > 1e-4 * b.abs().max(1.0))
    {
        None => Ok(()),
        Some(i) => Err(format!(
            "con {input}\n      en la posición {i} se esperaba {}\n      y se obtuvo {}",
            w[i], g[i]
        )),
    }
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap07::multi_head_attention",
            title: "Ejercicio 7.1 — Atención de varias cabezas",
            file: "ejercicios/cap07_gpt.rs",
            hint: "concatena las salidas de las cabezas con `Tensor::cat(&v, D::Minus1)` y aplica `proj`.",
            grade: || {
                many(25, 71, |r| {
                    let (m, x, mask, desc) = random_case(r);
                    let sa = &m.blocks[0].sa;
                    let want = sa.proj.forward(
                        &Tensor::cat(
                            &sa.heads
                                .iter()
                                .map(|h| h.forward(&x, &mask, &mut Mode::Eval).unwrap())
                                .collect::<Vec<_>>(),
                            2,
                        )
                        .unwrap(),
                    );
                    let want = want.unwrap();
                    // La del libro, con dropout 0, es la misma cuenta.
                    let lib = sa.forward(&x, &mask, &mut Mode::Eval).unwrap();
                    check_tensor(&desc, Ok(lib), &want).map_err(|e| format!("(biblioteca) {e}"))?;
                    let got = graded::cap07::multi_head_attention(
                        &x,
                        &mask,
                        &sa.heads,
                        &sa.proj,
                        &mut Mode::Eval,
                    );
                    check_tensor(&desc, got, &want)
                })
            },
        },
        Exercise {
            id: "cap07::block_forward",
            title: "Ejercicio 7.2 — El bloque con conexiones residuales",
            file: "ejercicios/cap07_gpt.rs",
            hint: "x = x + sa(ln1(x)); luego x = x + ffwd(ln2(x)). La LayerNorm va dentro de cada suma.",
            grade: || {
                many(25, 72, |r| {
                    let (m, x, mask, desc) = random_case(r);
                    let block = &m.blocks[0];
                    let want = block.forward(&x, &mask, &mut Mode::Eval).unwrap();
                    let got = graded::cap07::block_forward(block, &x, &mask, &mut Mode::Eval);
                    check_tensor(&desc, got, &want)
                })
            },
        },
        Exercise {
            id: "cap07::top_k_filter",
            title: "Ejercicio 7.3 — Muestreo top-k",
            file: "ejercicios/cap07_gpt.rs",
            hint: "el umbral es el k-ésimo valor más alto; los menores que él pasan a -inf.",
            grade: || {
                many(300, 73, |r| {
                    let n = r.random_range(1..12);
                    // Valores pequeños y enteros a menudo, para que haya empates.
                    let logits: Vec<f32> = (0..n)
                        .map(|_| {
                            if r.random_bool(0.5) {
                                r.random_range(-3..4) as f32
                            } else {
                                r.random_range(-5.0..5.0)
                            }
                        })
                        .collect();
                    let k = r.random_range(0..n + 2);
                    check(
                        &format!("logits = {logits:?}, k = {k}"),
                        graded::cap07::top_k_filter(&logits, k),
                        gpt::top_k_filter(&logits, k),
                    )
                })
            },
        },
    ]
}
