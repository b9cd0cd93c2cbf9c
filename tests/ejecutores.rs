//! Las dos implementaciones del GPT (la del libro y la rápida) entrenan igual también con
//! dropout: sacan las mismas máscaras del RNG de cada paso, aunque la rápida parta el lote
//! en dos mitades, y con uno o con dos núcleos.
// Las pruebas escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

mod comun;

use std::sync::{Arc, OnceLock};

use candle_core::{Device, Tensor};
use gpt_desde_cero::fast::kernels::Fast;
use gpt_desde_cero::model::estimate::LossPoint;
use gpt_desde_cero::model::gpt::{Activation, Gpt, GptConfig, LrSchedule, Preset};
use gpt_desde_cero::model::kernels::{Kernels, Reference, StepId};
use gpt_desde_cero::model::train::{self, Callbacks, Trainer};
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::rng;

/// El Quijote, tokenizado y partido como en los programas.
fn corpus() -> &'static (usize, Dataset) {
    static DATA: OnceLock<(usize, Dataset)> = OnceLock::new();
    DATA.get_or_init(|| {
        let text = comun::real_corpus();
        let tok = Tokenizer::from_text(text);
        let ids = dataset::encode_text(&tok, text).expect("el texto usa su propio vocabulario");
        (tok.vocab_size(), Dataset::split(&ids, TRAIN_FRACTION))
    })
}

/// La configuración `diminuto` entera con dropout 0,2.
fn config() -> GptConfig {
    GptConfig {
        dropout: 0.2,
        ..GptConfig::preset(Preset::Diminuto, corpus().0)
    }
}

/// Entrena `cfg` con `kernels` desde la semilla 7 con el bucle de la lección
/// (`model::train::train`) y devuelve cada estimación de la pérdida.
fn train_curve(cfg: &GptConfig, kernels: Arc<dyn Kernels>) -> Vec<LossPoint> {
    let mut trainer = Trainer::new(cfg, &Device::Cpu, 7, kernels).unwrap();
    // Ganchos que no hacen nada: el bucle de la lección tal cual.
    let mut quiet = Callbacks {
        on_eval: |_: &LossPoint| {},
        on_step: |_, _| {},
    };
    train::train(&mut trainer, &corpus().1, &mut quiet).unwrap();
    trainer.progress.history
}

/// La curva de `config()` (con dropout) con `kernels`.
fn curve(kernels: Arc<dyn Kernels>) -> Vec<LossPoint> {
    train_curve(&config(), kernels)
}

/// Ejecuta `f` en un hilo nuevo que, si `one_core`, solo puede usar un núcleo (el primero de
/// los que tiene el proceso): `std::thread::available_parallelism()`, que es lo que mira la
/// implementación rápida para hacer las dos mitades del lote a la vez, da entonces 1, y los
/// hilos que cree heredan la restricción. Devuelve lo que dé `f` y los núcleos que vio.
fn with_cores<R: Send>(one_core: bool, f: impl FnOnce() -> R + Send) -> (R, usize) {
    std::thread::scope(|s| {
        s.spawn(|| {
            if one_core {
                pin_to_one_core();
            }
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (f(), cores)
        })
        .join()
        .expect("el entrenamiento no entra en pánico")
    })
}

/// Restringe el hilo actual al primer núcleo que tiene permitido.
fn pin_to_one_core() {
    // SAFETY: `cpu_set_t` es una estructura de bits que vale a cero, y las llamadas solo leen
    // y escriben la que les pasamos, con su tamaño.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        assert_eq!(libc::sched_getaffinity(0, size, &mut set), 0);
        let first = (0..libc::CPU_SETSIZE as usize)
            .find(|&cpu| libc::CPU_ISSET(cpu, &set))
            .expect("el hilo puede usar algún núcleo");
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(first, &mut set);
        assert_eq!(libc::sched_setaffinity(0, size, &set), 0);
    }
}

fn assert_same_curve(reference: &[LossPoint], fast: &[LossPoint], what: &str) {
    assert_eq!(
        reference.len(),
        fast.len(),
        "{what}: número de estimaciones"
    );
    assert_eq!(reference.len(), 3, "pasos 0, 50 y 99");
    let worst = (reference.iter().zip(fast))
        .flat_map(|(r, f)| [(r.train - f.train).abs(), (r.val - f.val).abs()])
        .fold(0.0f32, f32::max);
    println!("{what}: la mayor diferencia es {worst:e}");
    for (r, f) in reference.iter().zip(fast) {
        let (dt, dv) = (r.train - f.train, r.val - f.val);
        println!(
            "  paso {}: Δ entrenamiento {dt:e}, Δ validación {dv:e}",
            r.step
        );
    }
    for (r, f) in reference.iter().zip(fast) {
        assert_eq!(r.step, f.step);
        for (name, a, b) in [
            ("entrenamiento", r.train, f.train),
            ("validación", r.val, f.val),
        ] {
            assert!(
                (a - b).abs() <= 1e-4,
                "{what}, paso {}, {name}: libro {a} y rápida {b} (Δ = {})",
                r.step,
                (a - b).abs()
            );
        }
    }
}

/// La configuración `diminuto` completa con dropout 0,2: cada estimación (entrenamiento y
/// validación) de la implementación rápida difiere como mucho 1e-4 de la del libro, con un
/// núcleo (las dos mitades del lote una tras otra) y con dos (a la vez). En una máquina de un
/// solo núcleo, el segundo caso repite el primero (y lo dice).
#[test]
fn fast_and_book_train_the_same_with_dropout_on_one_and_two_cores() {
    corpus();
    for one_core in [true, false] {
        let ((reference, fast), cores) = with_cores(one_core, || {
            (curve(Arc::new(Reference)), curve(Arc::new(Fast)))
        });
        if one_core {
            assert_eq!(cores, 1, "el hilo restringido ve un solo núcleo");
        } else if cores < 2 {
            println!("esta máquina tiene un solo núcleo: las mitades no van a la vez");
        }
        let what = format!("{cores} núcleo(s)");
        assert_same_curve(&reference, &fast, &what);
        // Y el dropout de verdad cambia algo: sin él, la curva sería otra.
        assert_ne!(reference[1], reference_without_dropout()[1]);
    }
}

/// Con GELU (y el calendario de calentamiento y coseno), las dos implementaciones también
/// entrenan igual: la GELU de la rápida ([`gpt_desde_cero::fast::fused_linear::gelu`], con su
/// derivada escrita a mano) es la del libro (`Tensor::gelu` de candle). Y la GELU cambia de
/// verdad la curva: no es la de ReLU.
#[test]
fn fast_and_book_train_the_same_with_gelu_and_the_cosine_schedule() {
    let cfg = GptConfig {
        activation: Activation::Gelu,
        lr_schedule: LrSchedule::WarmupCosine,
        ..config()
    };
    let reference = train_curve(&cfg, Arc::new(Reference));
    let fast = train_curve(&cfg, Arc::new(Fast));
    assert_same_curve(&reference, &fast, "GELU y coseno");
    let relu = curve(Arc::new(Reference));
    assert!(
        (reference[2].val - relu[2].val).abs() > 1e-3,
        "GELU {} y ReLU {}: la misma pérdida",
        reference[2].val,
        relu[2].val
    );
}

/// La curva del libro sin dropout (para ver que el dropout de la prueba no es inocuo).
fn reference_without_dropout() -> &'static [LossPoint] {
    static CURVE: OnceLock<Vec<LossPoint>> = OnceLock::new();
    CURVE.get_or_init(|| {
        let cfg = GptConfig::preset(Preset::Diminuto, corpus().0);
        train_curve(&cfg, Arc::new(Reference))
    })
}

/// Un paso con dropout y un lote impar (mitades de 3 y 4): la misma pérdida y las mismas
/// derivadas por las dos implementaciones, y el RNG del paso acaba en el mismo punto (lo que
/// se saque de él después es lo mismo).
#[test]
fn one_step_draws_the_same_masks_and_leaves_the_rng_in_the_same_state() {
    let cfg = GptConfig {
        batch_size: 7,
        dropout: 0.2,
        ..GptConfig::preset(Preset::Diminuto, 89)
    };
    let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(3)).unwrap();
    let shape = (cfg.batch_size, cfg.block_size);
    let ids: Vec<u32> = (0..shape.0 * shape.1)
        .map(|k| (k * 31 % 89) as u32)
        .collect();
    let x = Tensor::from_vec(ids.clone(), shape, &Device::Cpu).unwrap();
    let y = Tensor::from_vec(
        ids.iter().map(|v| (v + 1) % 89).collect(),
        shape,
        &Device::Cpu,
    )
    .unwrap();
    let id = StepId { seed: 5, step: 2 };
    for one_core in [true, false] {
        let (run, _) = with_cores(one_core, || {
            [&Reference as &dyn Kernels, &Fast].map(|k| {
                let mut r = rng::seeded(5);
                r.set_stream(9);
                let _ = rand::Rng::random::<u64>(&mut r); // como el lote, que va antes
                let (loss, grads) = k.loss_and_grads(&model, &x, &y, &mut r, id).unwrap();
                (loss, grads, r)
            })
        });
        let [(l_ref, g_ref, r_ref), (l_fast, g_fast, r_fast)] = run;
        assert!((l_ref - l_fast).abs() < 1e-5, "{l_ref} y {l_fast}");
        assert_eq!(r_ref, r_fast, "el RNG acaba en el mismo punto");
        for (name, var) in model.params.named() {
            let (a, b) = (g_ref.get(var.as_tensor()), g_fast.get(var.as_tensor()));
            let d = (a.unwrap() - b.unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(d < 1e-4, "{name}: las derivadas difieren en {d}");
        }
    }
}
