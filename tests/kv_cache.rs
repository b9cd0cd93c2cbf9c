//! La generación con caché KV calcula lo mismo que el bucle del cuaderno: los mismos logits
//! (a 1e-4) en cada paso y exactamente el mismo texto, también cuando la ventana se llena y
//! se desplaza.
// Las pruebas y los bancos escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

mod comun;

use std::sync::Arc;

use candle_core::{DType, Device};
use comun::run_chapter;
use gpt_desde_cero::fast::kernels::Fast;
use gpt_desde_cero::fast::kv_cache::KvCache;
use gpt_desde_cero::model::gpt::{self, Gpt, GptConfig, Preset, Sampling};
use gpt_desde_cero::model::kernels::{Kernels, Reference};
use gpt_desde_cero::model::train::Progress;
use gpt_desde_cero::tools::checkpoint;
use gpt_desde_cero::tools::rng;

const VOCAB: usize = 20;

/// Un modelo `diminuto` aleatorio. Con `sharpen`, los pesos (salvo los de LayerNorm) se
/// multiplican para que los logits estén lejos de la uniforme (con la inicialización
/// N(0, 0,02) casi lo están) y el texto tenga estructura: así una diferencia entre los
/// caminos se notaría en el sorteo.
fn tiny(seed: u64, sharpen: f64) -> Gpt {
    let cfg = GptConfig::preset(Preset::Diminuto, VOCAB);
    let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(seed)).unwrap();
    for (name, var) in model.params.named() {
        if !name.contains("ln") {
            var.set(&(var.as_tensor() * sharpen).unwrap()).unwrap();
        }
    }
    model
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Con las dos implementaciones: la del libro (pasos de candle) y la rápida (pasos sin candle).
#[test]
fn logits_match_the_reference_at_every_step() {
    let both: [Arc<dyn Kernels>; 2] = [Arc::new(Reference), Arc::new(Fast)];
    for ((seed, sharpen), kernels) in [(1, 1.0), (2, 8.0), (3, 15.0)]
        .into_iter()
        .flat_map(|s| both.iter().map(move |k| (s, k.clone())))
    {
        let name = kernels.name();
        let model = tiny(seed, sharpen);
        let bs = model.config.block_size;
        // Un texto que pasa de largo la ventana: 3 de prompt y 3·block_size más.
        let ids = gpt::generate(
            &model,
            &[0, 5, 7],
            3 * bs,
            Sampling::default(),
            &mut rng::seeded(seed),
            |_| {},
        )
        .unwrap();
        let text: Vec<u32> = [0, 5, 7].into_iter().chain(ids).collect();
        let mut cache = KvCache::new(&model, kernels.as_ref()).unwrap();
        let mut worst = 0f32;
        let mut spread = 0f32;
        for n in 1..=text.len() {
            let want = model.next_logits(&text[..n]).unwrap();
            let got = cache.next_logits(&text[..n]).unwrap();
            worst = worst.max(max_abs_diff(&got, &want));
            let max = want.iter().copied().fold(f32::MIN, f32::max);
            let min = want.iter().copied().fold(f32::MAX, f32::min);
            spread = spread.max(max - min);
        }
        eprintln!("{name}, semilla {seed}: diferencia máxima {worst:e}, rango {spread}");
        assert!(
            worst < 1e-4,
            "{name}, semilla {seed}: diferencia máxima {worst}"
        );
        // Los logits no son triviales (salvo con la inicialización tal cual).
        if sharpen > 1.0 {
            assert!(
                spread > 2.0,
                "semilla {seed}: logits casi iguales ({spread})"
            );
        }
        // Se usaron los dos caminos: pasos rápidos dentro del bloque y reconstrucciones fuera.
        let stats = cache.stats();
        assert_eq!(stats.steps, bs - 1, "semilla {seed}: {stats:?}");
        assert_eq!(
            stats.rebuilds,
            1 + text.len() - bs,
            "semilla {seed}: {stats:?}"
        );
    }
}

#[test]
fn same_text_for_seeds_temperatures_top_k_and_top_p() {
    let prompts: [&[u32]; 3] = [
        &[0],
        &[3, 1, 4, 1, 5],
        // Más largo que la ventana (16): se recorta desde el principio.
        &[2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2, 3, 5, 3],
    ];
    let samplings = [
        Sampling::default(),
        Sampling {
            temperature: 0.7,
            top_k: None,
            top_p: None,
        },
        Sampling {
            temperature: 1.5,
            top_k: Some(5),
            top_p: None,
        },
        Sampling {
            temperature: 1.0,
            top_k: Some(1),
            top_p: None,
        },
        Sampling {
            temperature: 1.2,
            top_k: Some(6),
            top_p: Some(0.8),
        },
    ];
    let mut compared = 0;
    for model_seed in [11, 12] {
        let model = tiny(model_seed, 10.0);
        let bs = model.config.block_size;
        for prompt in prompts {
            for sampling in samplings {
                for seed in [1, 2, 3] {
                    let n = 2 * bs + 7; // la ventana se llena y se desplaza
                    let want =
                        gpt::generate(&model, prompt, n, sampling, &mut rng::seeded(seed), |_| {})
                            .unwrap();
                    let mut streamed = Vec::new();
                    // Con la implementación rápida, la que usa el programa en la CPU.
                    let mut cache = KvCache::new(&model, &Fast).unwrap();
                    let got = gpt::generate(
                        &mut cache,
                        prompt,
                        n,
                        sampling,
                        &mut rng::seeded(seed),
                        |id| streamed.push(id),
                    )
                    .unwrap();
                    let stats = cache.stats();
                    let what = format!(
                        "modelo {model_seed}, prompt {prompt:?}, {sampling:?}, semilla {seed}"
                    );
                    assert_eq!(got, want, "{what}");
                    assert_eq!(streamed, got, "{what}: lo emitido no es lo devuelto");
                    assert_eq!(got.len(), n);
                    // Dentro del bloque se generó con pasos de una posición.
                    let fast = bs.saturating_sub(prompt.len());
                    assert_eq!(stats.steps, fast, "{what}: {stats:?}");
                    assert_eq!(stats.steps + stats.rebuilds, n, "{what}: {stats:?}");
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 2 * 3 * 5 * 3);
}

/// Sin esto, la prueba anterior podría pasar con un modelo que siempre da lo mismo.
#[test]
fn the_text_depends_on_the_seed_and_has_structure() {
    let model = tiny(11, 10.0);
    let gen_ = |seed| {
        gpt::generate(
            KvCache::new(&model, &Fast).unwrap(),
            &[0],
            40,
            Sampling::default(),
            &mut rng::seeded(seed),
            |_| {},
        )
        .unwrap()
    };
    let (a, b) = (gen_(1), gen_(2));
    assert_ne!(a, b);
    let mut distinct = a.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 4, "{a:?}");
}

#[test]
fn works_in_f64_too() {
    let model = tiny(4, 8.0).to_dtype(DType::F64).unwrap();
    let ids: Vec<u32> = (0..30).map(|i| (i * 7 % VOCAB) as u32).collect();
    let mut cache = KvCache::new(&model, &Fast).unwrap();
    for n in 1..=ids.len() {
        let want = model.next_logits(&ids[..n]).unwrap();
        let got = cache.next_logits(&ids[..n]).unwrap();
        let d = max_abs_diff(&got, &want);
        assert!(d < 1e-5, "n = {n}: {d}");
    }
}

/// `07_gpt generar` usa la caché por defecto y da el mismo texto que `--sin-cache`.
#[test]
fn the_program_gives_the_same_text_with_and_without_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aleatorio.safetensors");
    let vocabulary: Vec<char> = "\n ,.abcdeglmnoqrstuy".chars().collect();
    assert_eq!(vocabulary.len(), VOCAB);
    let model = tiny(21, 10.0);
    let progress = Progress {
        step: 0,
        seed: 21,
        best_val: None,
        history: Vec::new(),
    };
    checkpoint::save(&path, &model, &vocabulary, &progress, None).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generar",
            "--checkpoint",
            path.to_str().unwrap(),
            "--prompt",
            "en un lugar",
            "--tokens",
            "60",
            "--semilla",
            "5",
            "--temperatura",
            "0.8",
        ];
        args.extend_from_slice(extra);
        let out = run_chapter(env!("CARGO_BIN_EXE_07_gpt"), &args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}:\n{stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    };
    let (cached, cached_err) = run(&[]);
    let (plain, plain_err) = run(&["--sin-cache"]);
    assert_eq!(cached, plain);
    assert!(cached.starts_with("en un lugar"));
    assert_eq!(cached.trim_end_matches('\n').chars().count(), 11 + 60);
    assert!(
        cached_err.contains("caracteres/s (con caché KV)"),
        "{cached_err}"
    );
    assert!(
        plain_err.contains("caracteres/s (sin caché)"),
        "{plain_err}"
    );
    // Y es el mismo texto que da la biblioteca.
    let prompt: Vec<u32> = "en un lugar"
        .chars()
        .map(|c| vocabulary.iter().position(|&v| v == c).unwrap() as u32)
        .collect();
    let sampling = Sampling {
        temperature: 0.8,
        top_k: None,
        top_p: None,
    };
    let ids = gpt::generate(&model, &prompt, 60, sampling, &mut rng::seeded(5), |_| {}).unwrap();
    let text: String = ids.iter().map(|&i| vocabulary[i as usize]).collect();
    assert_eq!(cached, format!("en un lugar{text}\n"));
}
