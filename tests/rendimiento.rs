//! El camino rápido calcula lo mismo que el del libro: las operaciones fusionadas de la CPU
//! (softmax causal, normalización de LayerNorm, entropía cruzada) dan los mismos valores y
//! las mismas derivadas que las versiones hechas con operaciones sueltas de candle.

use std::sync::Arc;

use candle_core::{DType, Device, Module, Tensor, Var};
use gpt_desde_cero::fast::kernels::{self, Fast};
use gpt_desde_cero::model::adamw::{AdamW, AdamWConfig};
use gpt_desde_cero::model::gpt::{Gpt, GptConfig, Mode, Preset};
use gpt_desde_cero::model::kernels::{Kernels, Reference, StepId};
use gpt_desde_cero::model::layers::{self, LayerNorm, Params};
use gpt_desde_cero::model::train::Trainer;
use gpt_desde_cero::{fast::fused, tools::rng};

fn random(shape: &[usize], std: f32, seed: u64) -> Tensor {
    let n = shape.iter().product();
    let values = rng::normal_vec(&mut rng::seeded(seed), n, 0.0, std);
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Valor y derivada respecto de `x` de `Σ f(x) ⊙ w`, con `w` fijo y aleatorio.
fn value_and_grad(x: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> (Tensor, Tensor) {
    let var = Var::from_tensor(x).unwrap();
    let y = f(var.as_tensor());
    let w = random(y.dims(), 1.0, 99);
    let grads = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let g = grads
        .get(var.as_tensor())
        .expect("x recibe gradiente")
        .clone();
    (y, g)
}

#[test]
fn causal_softmax_equals_the_masked_softmax() {
    for (i, shape) in [vec![1, 1], vec![5, 5], vec![2, 3, 8, 8], vec![4, 16, 16]]
        .iter()
        .enumerate()
    {
        let x = random(shape, 3.0, i as u64);
        let t = *shape.last().unwrap();
        let mask = layers::causal_mask(t, &Device::Cpu).unwrap();
        let (y1, g1) = value_and_grad(&x, |x| fused::causal_softmax(x).unwrap());
        let (y2, g2) = value_and_grad(&x, |x| layers::masked_softmax(x, &mask).unwrap());
        assert!(max_diff(&y1, &y2) < 1e-6, "{shape:?}: valores");
        assert!(max_diff(&g1, &g2) < 1e-5, "{shape:?}: derivadas");
    }
}

#[test]
fn fused_layer_norm_equals_the_book_version() {
    for (i, shape) in [vec![3, 7], vec![2, 4, 16], vec![1, 64, 128]]
        .iter()
        .enumerate()
    {
        let c = *shape.last().unwrap();
        let mut params = Params::new(&Device::Cpu);
        let mut ln = LayerNorm::new(&mut params, "ln", c).unwrap();
        // Escala y sesgo no triviales, para que sus derivadas importen.
        ln.weight = params.add("w", random(&[c], 1.0, 10 + i as u64)).unwrap();
        ln.bias = params.add("b", random(&[c], 1.0, 20 + i as u64)).unwrap();
        let x = Var::from_tensor(&(random(shape, 2.0, i as u64) + 0.5).unwrap()).unwrap();
        let w = random(shape, 1.0, 99);
        let grads_of = |y: Tensor| {
            let g = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let get = |t: &Tensor| g.get(t).expect("recibe gradiente").clone();
            (y, get(x.as_tensor()), get(&ln.weight), get(&ln.bias))
        };
        let fast = grads_of(kernels::layer_norm(&ln, x.as_tensor()).unwrap());
        let book = grads_of(ln.forward(x.as_tensor()).unwrap());
        assert!(max_diff(&fast.0, &book.0) < 1e-5, "{shape:?}: valores");
        assert!(
            max_diff(&fast.1, &book.1) < 1e-4,
            "{shape:?}: derivadas de x"
        );
        assert!(
            max_diff(&fast.2, &book.2) < 1e-3,
            "{shape:?}: derivadas de la escala"
        );
        assert!(
            max_diff(&fast.3, &book.3) < 1e-3,
            "{shape:?}: derivadas del sesgo"
        );
    }
}

/// `relu(x Wᵀ + b)` en una sola operación fusionada (la primera capa de la red de avance).
fn fused_relu(lin: &layers::Linear, x: &Tensor) -> Tensor {
    use gpt_desde_cero::fast::fused_linear::{Activation, linear};
    linear(x, &lin.weight, lin.bias.as_ref(), Activation::Relu).unwrap()
}

/// La capa lineal fusionada (con y sin sesgo, con y sin ReLU, con 1, 2 y 3 dimensiones)
/// da los mismos valores y derivadas que la del libro.
#[test]
fn fused_linear_equals_the_book_version() {
    let shapes: [&[usize]; 3] = [&[16], &[7, 16], &[3, 5, 16]];
    for (i, shape) in shapes.into_iter().enumerate() {
        for bias in [false, true] {
            for relu in [false, true] {
                let mut params = Params::new(&Device::Cpu);
                let mut r = rng::seeded(i as u64);
                let lin = layers::linear(&mut params, "lin", (16, 24), bias, 0.5, &mut r).unwrap();
                if bias {
                    // Un sesgo no nulo, para que la ReLU corte en sitios distintos.
                    let b = lin.bias.as_ref().unwrap();
                    let var = params.get("lin.bias").unwrap();
                    var.set(&random(b.dims(), 1.0, 7)).unwrap();
                }
                let x = random(shape, 1.0, 2 + i as u64);
                let run = |fast: bool| {
                    let y = match (fast, relu) {
                        (true, false) => kernels::linear(&lin, &x).unwrap(),
                        (true, true) => fused_relu(&lin, &x),
                        (false, false) => lin.forward(&x).unwrap(),
                        (false, true) => lin.forward(&x).unwrap().relu().unwrap(),
                    };
                    let w = random(y.dims(), 1.0, 99);
                    let g = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
                    let grads: Vec<Tensor> = params
                        .named()
                        .iter()
                        .map(|(_, v)| g.get(v.as_tensor()).unwrap().clone())
                        .collect();
                    (y, grads)
                };
                let (y1, g1) = run(true);
                let (y2, g2) = run(false);
                let what = format!("{shape:?} sesgo={bias} relu={relu}");
                let mut want = shape.to_vec();
                *want.last_mut().unwrap() = 24;
                assert_eq!(y1.dims(), want, "{what}");
                assert!(max_diff(&y1, &y2) < 1e-5, "{what}: valores");
                for (a, b) in g1.iter().zip(&g2) {
                    assert!(max_diff(a, b) < 1e-4, "{what}: derivadas");
                }
            }
        }
    }
}

/// La derivada respecto de la entrada de la capa fusionada también coincide.
#[test]
fn fused_linear_input_gradient_equals_the_book_version() {
    let mut params = Params::new(&Device::Cpu);
    let lin = layers::linear(&mut params, "lin", (16, 24), true, 0.5, &mut rng::seeded(4)).unwrap();
    let x = random(&[2, 9, 16], 1.0, 5);
    let (y1, g1) = value_and_grad(&x, |x| fused_relu(&lin, x));
    let (y2, g2) = value_and_grad(&x, |x| lin.forward(x).unwrap().relu().unwrap());
    assert!(max_diff(&y1, &y2) < 1e-5);
    assert!(max_diff(&g1, &g2) < 1e-4);
}

#[test]
fn fused_linear_refuses_mismatched_shapes() {
    use gpt_desde_cero::fast::fused_linear::{Activation, linear};
    let x = random(&[4, 16], 1.0, 1);
    let w = random(&[24, 15], 1.0, 2);
    let err = linear(&x, &w, None, Activation::Identity)
        .unwrap_err()
        .to_string();
    assert!(err.contains("16 columnas") && err.contains("15"), "{err}");
    let w = random(&[24, 16], 1.0, 2);
    let b = random(&[23], 1.0, 3);
    let err = linear(&x, &w, Some(&b), Activation::Relu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sesgo"), "{err}");
}

#[test]
fn fused_cross_entropy_equals_candle_nn() {
    for (i, (n, c, std)) in [(1, 2, 1.0), (5, 7, 3.0), (64, 89, 1.0), (16, 89, 300.0)]
        .into_iter()
        .enumerate()
    {
        let logits = random(&[n, c], std, i as u64);
        let targets: Vec<u32> = (0..n).map(|k| ((k * 7 + i) % c) as u32).collect();
        let targets = Tensor::new(targets.as_slice(), &Device::Cpu).unwrap();
        let (l1, g1) = value_and_grad(&logits, |z| fused::cross_entropy(z, &targets).unwrap());
        let (l2, g2) = value_and_grad(&logits, |z| {
            candle_nn::loss::cross_entropy(z, &targets).unwrap()
        });
        assert!(max_diff(&l1, &l2) < 1e-4 * std, "({n}, {c}): pérdida");
        assert!(max_diff(&g1, &g2) < 1e-5, "({n}, {c}): derivadas");
    }
}

#[test]
fn fused_ops_refuse_bad_input_with_a_reason() {
    let x = random(&[2, 3], 1.0, 0);
    let err = fused::causal_softmax(&x).unwrap_err().to_string();
    assert!(err.contains("cuadradas"), "{err}");
    let t = Tensor::new(&[0u32, 5], &Device::Cpu).unwrap();
    let err = fused::cross_entropy(&x, &t).unwrap_err().to_string();
    assert!(err.contains("fuera de 0..3"), "{err}");
    let (w, b) = (random(&[3], 1.0, 1), random(&[3], 1.0, 2));
    let err = fused::layer_norm(&x.to_dtype(DType::U32).unwrap(), &w, &b, 1e-5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("f32"), "{err}");
}

/// Calcula la pérdida de entrenamiento (con dropout sembrado con `seed`) y la derivada de
/// cada parámetro por el camino rápido y por el del libro, y comprueba que coinciden: la
/// pérdida a 1e-5 y cada derivada a `tol(derivada del libro)`.
fn assert_paths_agree(
    model: &Gpt,
    x: &Tensor,
    y: &Tensor,
    seed: u64,
    tol: impl Fn(&Tensor) -> f32,
) {
    let run = |fast: bool| {
        let mode = &mut Mode::Train(&mut rng::seeded(seed));
        let loss = if fast {
            Fast.loss(model, x, y, mode).unwrap()
        } else {
            model.loss(x, y, mode).unwrap()
        };
        let grads = loss.backward().unwrap();
        let grads: Vec<Tensor> = (model.params.named().iter())
            .map(|(name, v)| {
                let g = grads.get(v.as_tensor());
                g.unwrap_or_else(|| panic!("{name} sin gradiente")).clone()
            })
            .collect();
        (loss.to_scalar::<f32>().unwrap(), grads)
    };
    let (fast_loss, fast_grads) = run(true);
    let (ref_loss, ref_grads) = run(false);
    assert!(
        (fast_loss - ref_loss).abs() < 1e-5,
        "{fast_loss} vs {ref_loss}"
    );
    for ((name, _), (a, b)) in model
        .params
        .named()
        .iter()
        .zip(fast_grads.iter().zip(&ref_grads))
    {
        let (d, limit) = (max_diff(a, b), tol(b));
        assert!(
            d <= limit,
            "{name}: las derivadas difieren en {d} (límite {limit})"
        );
    }
}

/// El GPT entero, con dropout: la pérdida y la derivada de cada parámetro coinciden por
/// los dos caminos (mismas máscaras, porque salen del mismo RNG con la misma semilla).
#[test]
fn whole_gpt_fast_path_equals_the_teaching_path() {
    let cfg = GptConfig {
        dropout: 0.1,
        ..GptConfig::preset(Preset::Diminuto, 89)
    };
    let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
    let ids: Vec<u32> = (0..cfg.batch_size * cfg.block_size)
        .map(|k| (k * 31 % 89) as u32)
        .collect();
    let x = Tensor::from_vec(ids.clone(), (cfg.batch_size, cfg.block_size), &Device::Cpu).unwrap();
    let y = Tensor::from_vec(
        ids.iter().map(|v| (v + 1) % 89).collect::<Vec<u32>>(),
        (cfg.batch_size, cfg.block_size),
        &Device::Cpu,
    )
    .unwrap();
    assert_paths_agree(&model, &x, &y, 5, |_| 1e-4);
}

/// Partir el lote en dos mitades (lo que hace el entrenamiento en la CPU para usar los dos
/// núcleos) da la misma pérdida y las mismas derivadas que el lote entero.
#[test]
fn two_halves_of_a_batch_give_the_whole_batch_gradient() {
    let cfg = GptConfig {
        batch_size: 7, // impar: mitades de 3 y 4, pesadas por su tamaño
        ..GptConfig::preset(Preset::Diminuto, 89)
    };
    assert_eq!(cfg.dropout, 0.0);
    let trainer = Trainer::new(&cfg, &Device::Cpu, 11, Arc::new(Fast)).unwrap();
    let ids: Vec<u32> = (0..cfg.batch_size * cfg.block_size)
        .map(|k| (k * 17 % 89) as u32)
        .collect();
    let shape = (cfg.batch_size, cfg.block_size);
    let x = Tensor::from_vec(ids.clone(), shape, &Device::Cpu).unwrap();
    let y = Tensor::from_vec(
        ids.iter().map(|v| (v * 3 + 1) % 89).collect::<Vec<u32>>(),
        shape,
        &Device::Cpu,
    )
    .unwrap();
    let id = StepId { seed: 11, step: 0 };
    let (half_loss, half_grads) = (trainer.kernels)
        .loss_and_grads(&trainer.model, &x, &y, &mut rng::seeded(1), id)
        .unwrap();
    let whole = Fast.loss(&trainer.model, &x, &y, &mut Mode::Eval).unwrap();
    let whole_grads = whole.backward().unwrap();
    assert!((half_loss - whole.to_scalar::<f32>().unwrap()).abs() < 1e-5);
    for (name, var) in trainer.model.params.named() {
        let d = max_diff(
            half_grads.get(var.as_tensor()).unwrap(),
            whole_grads.get(var.as_tensor()).unwrap(),
        );
        assert!(d < 1e-5, "{name}: las derivadas difieren en {d}");
    }
}

/// El dropout con la máscara en bytes da exactamente lo mismo que el del libro (las mismas
/// tiradas del RNG), y su derivada también.
#[test]
fn byte_mask_dropout_equals_the_book_version() {
    let x = random(&[4, 33, 17], 1.0, 8);
    let (y1, g1) = value_and_grad(&x, |x| {
        kernels::dropout(x, 0.2, &mut Mode::Train(&mut rng::seeded(4))).unwrap()
    });
    let (y2, g2) = value_and_grad(&x, |x| {
        layers::dropout(x, 0.2, &mut rng::seeded(4)).unwrap()
    });
    assert_eq!(max_diff(&y1, &y2), 0.0);
    assert_eq!(max_diff(&g1, &g2), 0.0);
    let zeros = y1
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .filter(|v| **v == 0.0)
        .count();
    let share = zeros as f32 / y1.elem_count() as f32;
    assert!(
        (share - 0.2).abs() < 0.03,
        "se apagó el {share} de los valores"
    );
}

/// La atención de varias cabezas de la versión del libro (cabeza a cabeza, con
/// `masked_softmax` y la máscara del dropout en `f32`), a partir de `qkv (B, T, 3·C)`.
fn per_head_attention(qkv: &Tensor, n_head: usize, keep: Option<(&[u8], f32)>) -> Tensor {
    let (b, t, c3) = qkv.dims3().unwrap();
    let (c, hs) = (c3 / 3, c3 / 3 / n_head);
    let mask = layers::causal_mask(t, &Device::Cpu).unwrap();
    let heads: Vec<Tensor> = (0..n_head)
        .map(|h| {
            let part = |off: usize| qkv.narrow(2, off + h * hs, hs).unwrap();
            let (q, k, v) = (part(0), part(c), part(2 * c));
            let wei = (q.matmul(&k.t().unwrap()).unwrap() * (hs as f64).powf(-0.5)).unwrap();
            let mut wei = layers::masked_softmax(&wei, &mask).unwrap();
            if let Some((keep, scale)) = keep {
                let tt = b * t * t;
                let m: Vec<f32> = keep[h * tt..(h + 1) * tt]
                    .iter()
                    .map(|&k| if k != 0 { scale } else { 0.0 })
                    .collect();
                wei = wei
                    .mul(&Tensor::from_vec(m, (b, t, t), &Device::Cpu).unwrap())
                    .unwrap();
            }
            wei.matmul(&v.contiguous().unwrap()).unwrap()
        })
        .collect();
    Tensor::cat(&heads, 2).unwrap()
}

/// La atención fusionada da los mismos valores y derivadas que la del libro, con y sin
/// dropout, con `T` menor, igual y mayor que un bloque de filas (64) y no múltiplo de él.
#[test]
fn fused_attention_equals_the_per_head_version() {
    use gpt_desde_cero::fast::fused_attention::{AttentionDropout, causal_attention};
    use rand::Rng as _;
    for (i, &(b, t, n_head, hs)) in [(1, 1, 1, 4), (2, 5, 2, 3), (3, 64, 4, 8), (2, 130, 3, 16)]
        .iter()
        .enumerate()
    {
        let qkv = random(&[b, t, 3 * n_head * hs], 1.0, 40 + i as u64);
        let mut r = rng::seeded(i as u64);
        let keep: Vec<u8> = (0..n_head * b * t * t)
            .map(|_| u8::from(r.random::<f32>() >= 0.3))
            .collect();
        let scale = 1.0 / 0.7f32;
        for with_dropout in [false, true] {
            let drop = with_dropout.then(|| AttentionDropout {
                keep: keep.clone().into(),
                scale: f64::from(scale),
            });
            let (y1, g1) =
                value_and_grad(&qkv, |x| causal_attention(x, n_head, drop.clone()).unwrap());
            let (y2, g2) = value_and_grad(&qkv, |x| {
                per_head_attention(x, n_head, with_dropout.then_some((&keep[..], scale)))
            });
            let what = format!("B={b} T={t} cabezas={n_head} hs={hs} dropout={with_dropout}");
            assert!(max_diff(&y1, &y2) < 1e-5, "{what}: valores");
            assert!(max_diff(&g1, &g2) < 1e-4, "{what}: derivadas");
        }
    }
}

/// El GPT entero con un bloque de más de 64 caracteres (varios bloques de filas en la
/// atención fusionada) y dropout: mismos valores y derivadas por los dos caminos.
#[test]
fn fused_attention_in_a_gpt_with_a_long_block() {
    let cfg = GptConfig {
        batch_size: 2,
        block_size: 70,
        n_embd: 16,
        n_head: 2,
        n_layer: 2,
        dropout: 0.2,
        ..GptConfig::preset(Preset::Diminuto, 89)
    };
    let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(8)).unwrap();
    let ids: Vec<u32> = (0..2 * 70).map(|k| (k * 17 % 89) as u32).collect();
    let x = Tensor::from_vec(ids.clone(), (2, 70), &Device::Cpu).unwrap();
    let targets: Vec<u32> = ids.iter().map(|v| (v + 3) % 89).collect();
    let y = Tensor::from_vec(targets, (2, 70), &Device::Cpu).unwrap();
    // Las derivadas de este modelo recién creado son pequeñas: se comparan en relativo.
    let size = |g: &Tensor| {
        g.abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert_paths_agree(&model, &x, &y, 9, |g| 1e-3 * size(g) + 1e-8);
}

#[test]
fn fused_attention_refuses_bad_shapes() {
    use gpt_desde_cero::fast::fused_attention::{AttentionDropout, causal_attention};
    let qkv = random(&[2, 4, 12], 1.0, 1);
    let err = causal_attention(&qkv, 5, None).unwrap_err().to_string();
    assert!(err.contains("no se reparten"), "{err}");
    let drop = AttentionDropout {
        keep: vec![1u8; 3].into(),
        scale: 1.0,
    };
    let err = causal_attention(&qkv, 2, Some(drop))
        .unwrap_err()
        .to_string();
    assert!(err.contains("máscara"), "{err}");
}

/// El paso de AdamW en su sitio de la implementación rápida da los mismos pesos y momentos
/// que el del libro (con tensores).
#[test]
fn in_place_adamw_equals_the_book_version() {
    let dev = Device::Cpu;
    let init = Tensor::new(&[[0.5f32, -1.0, 2.0], [0.1, 0.2, -0.3]], &dev).unwrap();
    let x = Tensor::new(&[[1.0f32, 2.0], [-1.0, 0.5], [0.3, 0.3]], &dev).unwrap();
    let loss = |w: &Var| {
        w.as_tensor()
            .matmul(&x)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let fast = Var::from_tensor(&init.copy().unwrap()).unwrap();
    let book = Var::from_tensor(&init.copy().unwrap()).unwrap();
    let cfg = AdamWConfig::with_lr(0.05);
    let mut a = AdamW::new(vec![fast.clone()], cfg).unwrap();
    let mut b = AdamW::new(vec![book.clone()], cfg).unwrap();
    for _ in 0..10 {
        let g = loss(&fast).backward().unwrap();
        Fast.adamw_step(&mut a, &g).unwrap();
        let g = loss(&book).backward().unwrap();
        Reference.adamw_step(&mut b, &g).unwrap();
    }
    assert_eq!((a.step, b.step), (10, 10));
    assert!(
        max_diff(fast.as_tensor(), &init) > 0.1,
        "los pesos apenas se movieron"
    );
    assert!(max_diff(fast.as_tensor(), book.as_tensor()) < 1e-6);
    let ((ma, va), (mb, vb)) = (a.moments(), b.moments());
    assert!(max_diff(&ma[0], &mb[0]) < 1e-6);
    assert!(max_diff(&va[0], &vb[0]) < 1e-6);
    // m y v son tensores distintos: actualizar uno no toca el otro.
    assert!(max_diff(&ma[0], &va[0]) > 1e-3);
}

/// El programa elige la implementación por el dispositivo, una vez: la rápida en la CPU.
/// El entrenamiento la guarda; el modelo no sabe quién lo ejecuta.
#[test]
fn the_cpu_gets_the_fast_kernels_and_the_trainer_keeps_them() {
    assert_eq!(kernels::for_device(&Device::Cpu).name(), "rápida");
    let cfg = GptConfig::preset(Preset::Diminuto, 11);
    let trainer = Trainer::new(&cfg, &Device::Cpu, 1, Arc::new(Fast)).unwrap();
    assert_eq!(trainer.kernels.name(), "rápida");
    let trainer = Trainer::new(&cfg, &Device::Cpu, 1, Arc::new(Reference)).unwrap();
    assert_eq!(trainer.kernels.name(), "libro");
}

/// Las instrucciones vectoriales que usa gemm en esta CPU, para decirlo en la salida.
fn vector_instructions() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "AVX-512";
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return "AVX2";
        }
    }
    "ni AVX2 ni AVX-512"
}

/// gemm elige al ejecutar sus núcleos: AVX-512 (la característica `x86-v4` de Cargo.toml) en
/// las CPU que lo tienen y AVX2 en las demás. Sea cual sea, el producto (el de candle y el de
/// la atención fusionada) debe ser el de las cuentas en `f64`, a la precisión de `f32`, también
/// con tamaños que no son múltiplos de 8 ni de 16 (los bordes de los núcleos).
#[test]
// Las pruebas escriben con los `eprintln!` de siempre (véase clippy.toml).
#[allow(clippy::disallowed_macros)]
fn gemm_gives_the_exact_product_with_the_vector_instructions_of_this_cpu() {
    let isa = vector_instructions();
    // Lo dice en la salida (la integración continua la ejecuta con --nocapture): en una CPU sin
    // AVX-512, esta prueba solo comprueba la ruta AVX2.
    eprintln!(
        "gemm usa aquí {isa}: el producto se compara con el de f64{}",
        if isa == "AVX-512" {
            ""
        } else {
            " (esta CPU no tiene AVX-512: sus núcleos solo se comprueban en una que lo tenga)"
        }
    );
    for (m, k, n) in [(1, 1, 1), (7, 33, 17), (64, 128, 96), (129, 67, 250)] {
        let a = random(&[m, k], 1.0, 11);
        let b = random(&[k, n], 1.0, 12);
        let got = a.matmul(&b).unwrap().to_vec2::<f32>().unwrap();
        let (av, bv) = (a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
        for i in 0..m {
            for j in 0..n {
                let exact: f64 = (0..k).map(|p| av[i][p] as f64 * bv[p][j] as f64).sum();
                let scale: f64 = (0..k)
                    .map(|p| (av[i][p] as f64 * bv[p][j] as f64).abs())
                    .sum();
                let err = (got[i][j] as f64 - exact).abs();
                assert!(
                    err <= 1e-5 * scale.max(1.0),
                    "{m}×{k} · {k}×{n} con {isa}: en ({i}, {j}) da {} y debe dar {exact} (error {err})",
                    got[i][j]
                );
            }
        }
    }
}
