//! El camino rápido calcula lo mismo que el del libro: las operaciones fusionadas de la CPU
//! (softmax causal, normalización de LayerNorm, entropía cruzada) dan los mismos valores y
//! las mismas derivadas que las versiones hechas con operaciones sueltas de candle.

use candle_core::{DType, Device, Tensor, Var};
use gpt_desde_cero::gpt::{Gpt, GptConfig, Mode, Preset};
use gpt_desde_cero::layers::{self, LayerNorm, Params};
use gpt_desde_cero::{fused, rng};

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
        let (y2, g2) = value_and_grad(&x, |x| layers::masked_softmax_reference(x, &mask).unwrap());
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
        let fast = grads_of(ln.forward(x.as_tensor()).unwrap());
        let book = grads_of(ln.forward_reference(x.as_tensor()).unwrap());
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

#[test]
fn fused_linear_bias_equals_broadcast_add() {
    let mut params = Params::new(&Device::Cpu);
    let lin = layers::linear(&mut params, "lin", (16, 24), true, 0.5, &mut rng::seeded(1)).unwrap();
    let x = random(&[3, 5, 16], 1.0, 2);
    let run = || {
        let y = candle_core::Module::forward(&lin, &x).unwrap();
        let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let grads: Vec<Tensor> = params
            .named()
            .iter()
            .map(|(_, v)| g.get(v.as_tensor()).unwrap().clone())
            .collect();
        (y, grads)
    };
    let (y1, g1) = run();
    let (y2, g2) = layers::with_reference_kernels(run);
    assert_eq!(y1.dims(), [3, 5, 24]);
    assert!(max_diff(&y1, &y2) < 1e-5);
    for (a, b) in g1.iter().zip(&g2) {
        assert!(max_diff(a, b) < 1e-4);
    }
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
    let err = fused::normalize(&x.to_dtype(DType::U32).unwrap(), 1e-5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("f32"), "{err}");
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
    let run = || {
        let loss = model
            .loss(&x, &y, &mut Mode::Train(&mut rng::seeded(5)))
            .unwrap();
        let grads = loss.backward().unwrap();
        let grads: Vec<Tensor> = model
            .params
            .named()
            .iter()
            .map(|(name, v)| {
                grads
                    .get(v.as_tensor())
                    .unwrap_or_else(|| panic!("{name} sin gradiente"))
                    .clone()
            })
            .collect();
        (loss.to_scalar::<f32>().unwrap(), grads)
    };
    let (fast_loss, fast_grads) = run();
    let (ref_loss, ref_grads) = layers::with_reference_kernels(run);
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
        let d = max_diff(a, b);
        assert!(d < 1e-4, "{name}: las derivadas difieren en {d}");
    }
}

/// Partir el lote en dos mitades (lo que hace el entrenamiento en la CPU para usar los dos
/// núcleos) da la misma pérdida y las mismas derivadas que el lote entero.
#[test]
fn two_halves_of_a_batch_give_the_whole_batch_gradient() {
    use gpt_desde_cero::train::Trainer;
    let cfg = GptConfig {
        batch_size: 7, // impar: mitades de 3 y 4, pesadas por su tamaño
        ..GptConfig::preset(Preset::Diminuto, 89)
    };
    assert_eq!(cfg.dropout, 0.0);
    let trainer = Trainer::new(&cfg, &Device::Cpu, 11).unwrap();
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
    let (half_loss, half_grads) = trainer
        .loss_and_grads_in_halves(&x, &y, rng::seeded(1))
        .unwrap();
    let whole = trainer.model.loss(&x, &y, &mut Mode::Eval).unwrap();
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
        layers::dropout(x, 0.2, &mut rng::seeded(4)).unwrap()
    });
    let (y2, g2) = layers::with_reference_kernels(|| {
        value_and_grad(&x, |x| {
            layers::dropout(x, 0.2, &mut rng::seeded(4)).unwrap()
        })
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
