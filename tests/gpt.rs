//! Capítulo 07: el GPT completo. Recuento de parámetros, formas, puntos de control,
//! reanudación exacta, generación con semilla y los errores del programa `07_gpt`.

mod comun;

use std::path::Path;

use candle_core::{Device, Tensor};
use comun::{real_corpus, run_chapter};
use gpt_desde_cero::fast::{kernels, kv_cache::KvCache};
use gpt_desde_cero::model::gpt::{self, Gpt, GptConfig, Mode, Preset};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::checkpoint;
use gpt_desde_cero::{tools::pretty, tools::rng};

const BIN: &str = env!("CARGO_BIN_EXE_07_gpt");

/// Ejecuta `07_gpt` y exige que termine bien; devuelve la salida estándar.
fn ok(args: &[&str]) -> String {
    real_corpus();
    let out = run_chapter(BIN, args, &[]);
    assert!(
        out.status.success(),
        "07_gpt {args:?} falló:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Ejecuta `07_gpt` y exige que falle con un mensaje en español y sin pánico.
fn fails(args: &[&str]) -> String {
    real_corpus();
    let out = run_chapter(BIN, args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "07_gpt {args:?} debía fallar");
    assert!(!stderr.contains("panicked"), "pánico:\n{stderr}");
    assert!(stderr.contains("error: "), "{stderr}");
    stderr
}

/// Entrena un punto de control diminuto en `dir` con argumentos extra.
fn train_tiny(dir: &Path, extra: &[&str]) -> String {
    let salidas = dir.to_str().unwrap();
    let mut args = vec!["entrenar", "--preset", "diminuto", "--salidas", salidas];
    args.extend_from_slice(extra);
    ok(&args)
}

/// La salida sin lo que cambia de una ejecución a otra: sin tiempos, y con la carpeta de
/// salidas por defecto (`salidas`) en lugar de la temporal de la prueba.
fn stable(stdout: &str, dir: &Path) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("Tiempo:"))
        .map(|l| l.replace(dir.to_str().unwrap(), "salidas"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    let loaded = checkpoint::load(path, &Device::Cpu).unwrap();
    loaded
        .model
        .params
        .named()
        .iter()
        .map(|(n, v)| (n.clone(), v.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn parameter_counts_of_the_presets() {
    let mut out = String::new();
    for preset in Preset::ALL {
        let cfg = GptConfig::preset(preset, 89);
        let n = gpt::param_count(&cfg);
        out.push_str(&format!(
            "{preset}: contexto {}, n_embd {}, {} cabezas, {} capas, dropout {}\n  {} parámetros ({})\n",
            cfg.block_size,
            cfg.n_embd,
            cfg.n_head,
            cfg.n_layer,
            pretty::number(cfg.dropout),
            pretty::integer(n),
            gpt::format_param_count(n)
        ));
    }
    let cuaderno = GptConfig::preset(Preset::Cuaderno, 89);
    assert_eq!(gpt::param_count(&cuaderno), 10_807_385);
    // Crear el modelo de verdad da el mismo número.
    let m = Gpt::new(&cuaderno, &Device::Cpu, &mut rng::seeded(1)).unwrap();
    assert_eq!(m.params.count(), 10_807_385);
    insta::assert_snapshot!("gpt_parametros", out);
}

#[test]
fn shapes_through_the_model() {
    let cfg = GptConfig::preset(Preset::Diminuto, 89);
    let m = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(1)).unwrap();
    let (b, t) = (2, cfg.block_size);
    let ids: Vec<u32> = (0..(b * t) as u32).map(|i| i % 89).collect();
    let idx = Tensor::from_vec(ids, (b, t), &Device::Cpu).unwrap();
    let mode = &mut Mode::Eval;
    let shape = |x: &Tensor| pretty::shape(x.dims());
    let mut lines = vec![format!("idx: {}", shape(&idx))];
    let tok = candle_core::Module::forward(&m.token_embedding_table, &idx).unwrap();
    lines.push(format!("incrustación de tokens: {}", shape(&tok)));
    let pos_ids = Tensor::arange(0u32, t as u32, &Device::Cpu).unwrap();
    let pos = candle_core::Module::forward(&m.position_embedding_table, &pos_ids).unwrap();
    lines.push(format!("incrustación de posiciones: {}", shape(&pos)));
    let x = tok.broadcast_add(&pos).unwrap();
    lines.push(format!("x = tokens + posiciones: {}", shape(&x)));
    let mask = gpt_desde_cero::model::layers::causal_mask(t, &Device::Cpu).unwrap();
    let block = &m.blocks[0];
    let h = block.sa.heads[0].forward(&x, &mask, mode).unwrap();
    lines.push(format!("una cabeza: {}", shape(&h)));
    let sa = block.sa.forward(&x, &mask, mode).unwrap();
    lines.push(format!(
        "atención de {} cabezas: {}",
        cfg.n_head,
        shape(&sa)
    ));
    let ff_hidden = candle_core::Module::forward(&block.ffwd.up, &x).unwrap();
    lines.push(format!("red de avance, capa oculta: {}", shape(&ff_hidden)));
    let y = block.forward(&x, &mask, mode).unwrap();
    lines.push(format!("salida de un bloque: {}", shape(&y)));
    let logits = m.forward(&idx, mode).unwrap();
    lines.push(format!("logits: {}", shape(&logits)));
    let loss = m.loss(&idx, &idx, mode).unwrap();
    lines.push(format!("pérdida: {}", shape(&loss)));
    insta::assert_snapshot!("gpt_formas", lines.join("\n"));
}

#[test]
fn training_writes_checkpoints_and_curve_and_generation_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--pasos", "200", "--eval-cada", "50"];
    let stdout = train_tiny(dir.path(), &extra);
    for f in [
        "gpt.safetensors",
        "gpt-mejor.safetensors",
        "gpt-curva.svg",
        "gpt-curva.csv",
    ] {
        assert!(dir.path().join(f).exists(), "falta {f}");
    }
    let csv = std::fs::read_to_string(dir.path().join("gpt-curva.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5, "{csv}"); // pasos 0, 50, 100, 150 y 199
    // Sin temporales olvidados.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    // La instantánea empieza con la orden, para que el libro muestre las dos cosas juntas.
    let command = format!(
        "$ cargo run --bin 07_gpt -- entrenar \\\n      --preset diminuto {}",
        extra.join(" ")
    );
    let shown = format!("{command}\n{}", stable(&stdout, dir.path()));
    comun::cabe_en_80_columnas(&shown);
    insta::assert_snapshot!("gpt_entrenar_diminuto", shown);

    // Los metadatos del punto de control: configuración, vocabulario y progreso.
    let best = dir.path().join("gpt-mejor.safetensors");
    let loaded = checkpoint::load(&best, &Device::Cpu).unwrap();
    assert_eq!(loaded.vocabulary.len(), 89);
    assert!(loaded.optimizer.is_some());
    let meta = checkpoint::metadata(
        &loaded.config,
        &loaded.vocabulary,
        &loaded.progress,
        loaded.optimizer.is_some(),
    );
    let meta: Vec<String> = meta
        .iter()
        .map(|(k, v)| match *k {
            // Las pérdidas, redondeadas (la última cifra puede variar entre procesadores) y
            // con la norma del libro: ya no son el texto del archivo, que va entre comillas.
            "best_val" => format!(
                "{k} ≈ {}",
                pretty::decimal(v.parse::<f32>().unwrap().into(), 2)
            ),
            "history" => format!("{k} = {} puntos", v.split(';').count()),
            // El vocabulario no cabe en una línea del libro: en renglones de 80 caracteres
            // (no tiene palabras que respetar).
            _ => format!("{k} = {v:?}")
                .chars()
                .collect::<Vec<_>>()
                .chunks(80)
                .map(|line| line.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect();
    insta::assert_snapshot!("gpt_checkpoint_metadatos", meta.join("\n"));

    // Generar: la misma semilla da el mismo texto; otra semilla, otro.
    let ckpt = best.to_str().unwrap();
    let generate = |seed: &str| {
        ok(&[
            "generar",
            "--checkpoint",
            ckpt,
            "--prompt",
            "En un lugar de la Mancha",
            "--tokens",
            "160",
            "--semilla",
            seed,
            // Lo que se ve en una terminal (la prueba escribe en una tubería).
            "--ancho",
            "80",
        ])
    };
    let a = generate("7");
    assert_eq!(a, generate("7"));
    assert_ne!(a, generate("8"));
    assert!(a.starts_with("En un lugar de la Mancha"));
    // 24 caracteres del texto inicial y 160 generados, en renglones de 80 columnas como máximo
    // (el programa parte las líneas largas como `pretty::wrap`).
    let text = a.trim_end_matches('\n');
    comun::cabe_en_80_columnas(text);
    assert!(text.lines().count() >= 3, "{a}");
    assert!(
        text.chars().filter(|&c| c != '\n').count() <= 24 + 160,
        "{a}"
    );
    // La orden sin --checkpoint: el de mejor validación de `salidas/` es el de por defecto.
    let command = "$ cargo run --bin 07_gpt -- generar \\\n      \
                   --prompt \"En un lugar de la Mancha\" --tokens 160 --semilla 7";
    insta::assert_snapshot!("gpt_generar_semilla_7", format!("{command}\n{text}"));

    // top-k = 1 es la elección voraz: no depende de la semilla.
    let greedy = |seed: &str| {
        ok(&[
            "generar",
            "--checkpoint",
            ckpt,
            "--tokens",
            "40",
            "--top-k",
            "1",
            "--semilla",
            seed,
        ])
    };
    assert_eq!(greedy("1"), greedy("2"));

    // top-p: con un núcleo diminuto solo queda el más probable (lo mismo que top-k = 1); con
    // p = 1, todos, y el mismo texto que sin top-p (un número del RNG por carácter, igual).
    let with = |extra: &[&str]| {
        let mut args = vec!["generar", "--checkpoint", ckpt, "--tokens", "40"];
        args.extend_from_slice(extra);
        ok(&args)
    };
    assert_eq!(with(&["--top-p", "0,0001", "--semilla", "4"]), greedy("1"));
    assert_eq!(
        with(&["--top-p", "1", "--semilla", "4"]),
        with(&["--semilla", "4"])
    );
    assert_ne!(
        with(&["--top-p", "0.5", "--temperatura", "2", "--semilla", "4"]),
        with(&["--temperatura", "2", "--semilla", "4"])
    );
    for bad in ["0", "1,5", "-0.1"] {
        let out = run_chapter(BIN, &["generar", "--checkpoint", ckpt, "--top-p", bad], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--top-p {bad}: {stderr}");
        assert!(
            stderr.contains("--top-p") && stderr.contains("(0, 1]"),
            "{stderr}"
        );
    }

    // En una tubería, exactamente los caracteres del modelo: los mismos que decodifica la
    // biblioteca con la misma semilla; con `--ancho 80`, los mismos con espacios cambiados
    // por saltos y ningún renglón de más de 80 columnas.
    let args = [
        "generar",
        "--checkpoint",
        ckpt,
        "--tokens",
        "400",
        "--semilla",
        "5",
    ];
    let piped = ok(&args);
    let loaded = checkpoint::load(&best, &Device::Cpu).unwrap();
    let tokenizer = Tokenizer::from_chars(loaded.vocabulary.clone()).unwrap();
    let kernels = kernels::for_device(&Device::Cpu);
    let cache = KvCache::new(&loaded.model, kernels.as_ref()).unwrap();
    let mut r = rng::seeded(5);
    let ids = gpt::generate(cache, &[0], 400, Default::default(), &mut r, |_| {}).unwrap();
    // El texto inicial (un salto de línea), lo generado y el salto del final.
    assert_eq!(piped, format!("\n{}\n", tokenizer.decode(&ids).unwrap()));
    assert!(piped.lines().any(|l| l.chars().count() > 80), "{piped}");
    let mut wide_args = args.to_vec();
    wide_args.extend(["--ancho", "80"]);
    let wrapped = ok(&wide_args);
    assert_ne!(wrapped, piped);
    comun::cabe_en_80_columnas(wrapped.trim_end());
    assert_eq!(wrapped.chars().count(), piped.chars().count());
    for (w, p) in wrapped.chars().zip(piped.chars()) {
        assert!(w == p || (w == '\n' && p == ' '), "{wrapped}");
    }

    // Una «ñ» tecleada (un carácter, NFC) se pasa a la forma del corpus (n + tilde, NFD).
    let typed = ok(&[
        "generar",
        "--checkpoint",
        ckpt,
        "--prompt",
        "El señor",
        "--tokens",
        "5",
    ]);
    assert!(typed.starts_with("El sen\u{303}or"), "{typed}");

    // Errores de generación, en español y con el motivo.
    let e = fails(&["generar", "--checkpoint", ckpt, "--prompt", "hola @"]);
    assert!(
        e.contains("«@» (U+0040)") && e.contains("posición 5"),
        "{e}"
    );
    let e = fails(&["generar", "--checkpoint", ckpt, "--temperatura", "0"]);
    assert!(e.contains("temperatura"), "{e}");
    let missing = dir.path().join("no-existe.safetensors");
    let e = fails(&["generar", "--checkpoint", missing.to_str().unwrap()]);
    assert!(e.contains("entrena primero"), "{e}");
    let bytes = std::fs::read(&best).unwrap();
    let broken = dir.path().join("roto.safetensors");
    std::fs::write(&broken, &bytes[..bytes.len() - 100]).unwrap();
    let e = fails(&["generar", "--checkpoint", broken.to_str().unwrap()]);
    assert!(e.contains("no es un archivo safetensors válido"), "{e}");
}

/// Entrenar 2k pasos de una vez o k, guardar, reanudar y otros k da los mismos pesos (con
/// dropout, que también depende del RNG).
#[test]
fn resuming_continues_exactly() {
    let once = tempfile::tempdir().unwrap();
    let twice = tempfile::tempdir().unwrap();
    let common = ["--dropout", "0.1", "--eval-cada", "7", "--eval-lotes", "2"];
    train_tiny(once.path(), &[&["--pasos", "24"][..], &common].concat());
    train_tiny(twice.path(), &[&["--pasos", "12"][..], &common].concat());
    let resumed = train_tiny(
        twice.path(),
        &[&["--pasos", "24", "--reanudar"][..], &common].concat(),
    );
    assert!(resumed.contains("en el paso 12"), "{resumed}");
    let a = weights(&once.path().join("gpt.safetensors"));
    let b = weights(&twice.path().join("gpt.safetensors"));
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        let diff = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(diff <= 1e-6, "{name}: diferencia {diff}");
    }
    let la = checkpoint::load(&once.path().join("gpt.safetensors"), &Device::Cpu).unwrap();
    let lb = checkpoint::load(&twice.path().join("gpt.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(la.progress.step, 24);
    assert_eq!(lb.progress.step, 24);
    assert_eq!(la.optimizer.unwrap().2, 24);

    // Reanudar con otra configuración se rechaza diciendo en qué difiere.
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        twice.path().to_str().unwrap(),
        "--reanudar",
        "--pasos",
        "30",
        "--embd",
        "16",
    ]);
    assert!(
        e.contains("otra configuración")
            && e.contains("n_embd = 32 en el punto de control y 16 ahora"),
        "{e}"
    );
    // Con otro corpus (otro vocabulario), también.
    let other = twice.path().join("otro.txt");
    std::fs::write(&other, "abc ".repeat(500)).unwrap();
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        twice.path().to_str().unwrap(),
        "--reanudar",
        "--pasos",
        "30",
        "--corpus",
        other.to_str().unwrap(),
    ]);
    assert!(e.contains("otro vocabulario"), "{e}");
    // Y si ya se dieron todos los pasos pedidos.
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        twice.path().to_str().unwrap(),
        "--reanudar",
        "--pasos",
        "24",
        "--dropout",
        "0.1",
    ]);
    assert!(e.contains("ya tiene 24 pasos"), "{e}");
}

#[test]
fn bad_training_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        d,
        "--cabezas",
        "3",
    ]);
    assert!(e.contains("3 cabezas"), "{e}");
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        d,
        "--reanudar",
    ]);
    assert!(e.contains("no hay nada que reanudar"), "{e}");
    if !cfg!(feature = "cuda") {
        let e = fails(&["entrenar", "--preset", "diminuto", "--dispositivo", "cuda"]);
        assert!(e.contains("sin CUDA"), "{e}");
    }
    // Una tasa de aprendizaje absurda hace explotar la pérdida: se para con un mensaje.
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        d,
        "--lr",
        "1e12",
        "--pasos",
        "50",
    ]);
    assert!(e.contains("número finito"), "{e}");
}

/// `--activacion gelu --lr-coseno`: el punto de control dice qué activación y qué calendario
/// usa, `generar` escribe con su GELU (con y sin caché KV, el mismo texto), reanudar con otra
/// activación se niega diciendo cuál, y una activación desconocida es un error de uso.
#[test]
fn gelu_and_cosine_travel_in_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = train_tiny(
        dir.path(),
        &["--activacion", "gelu", "--lr-coseno", "--pasos", "20"],
    );
    assert!(out.contains("GELU en la red de avance"), "{out}");
    assert!(out.contains("calentamiento de 1 paso y coseno"), "{out}");
    let ckpt = dir.path().join("gpt-mejor.safetensors");
    let loaded = checkpoint::load(&ckpt, &Device::Cpu).unwrap();
    assert_eq!(loaded.config.activation, gpt::Activation::Gelu);
    assert_eq!(loaded.config.lr_schedule, gpt::LrSchedule::WarmupCosine);
    let c = ckpt.to_str().unwrap();
    let args = [
        "generar",
        "--checkpoint",
        c,
        "--tokens",
        "40",
        "--semilla",
        "3",
    ];
    let cached = ok(&args);
    let mut uncached = args.to_vec();
    uncached.push("--sin-cache");
    assert_eq!(cached, ok(&uncached));
    // El texto es el de la GELU: el mismo modelo leído como ReLU escribe otra cosa.
    let relu = Gpt::from_params(
        &GptConfig {
            activation: gpt::Activation::Relu,
            ..loaded.config.clone()
        },
        loaded.model.params.clone(),
    )
    .unwrap();
    let ids = [1u32, 2, 3, 4];
    assert_ne!(
        loaded.model.next_logits(&ids).unwrap(),
        relu.next_logits(&ids).unwrap()
    );

    let d = dir.path().to_str().unwrap();
    let e = fails(&[
        "entrenar",
        "--preset",
        "diminuto",
        "--salidas",
        d,
        "--reanudar",
        "--lr-coseno",
        "--pasos",
        "20",
    ]);
    assert!(
        e.contains("activation = gelu en el punto de control y relu ahora"),
        "{e}"
    );

    real_corpus();
    let out = run_chapter(BIN, &["entrenar", "--activacion", "swiglu"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("valores posibles: relu, gelu"), "{stderr}");
}

#[test]
fn a_time_limit_stops_cleanly_with_an_estimate_and_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = train_tiny(
        dir.path(),
        &[
            "--pasos",
            "100000",
            "--max-minutos",
            "0",
            "--eval-lotes",
            "2",
        ],
    );
    assert!(stdout.contains("Se acabó el tiempo"), "{stdout}");
    assert!(stdout.contains("paso 1: pérdida"), "{stdout}");
    let loaded = checkpoint::load(&dir.path().join("gpt.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(loaded.progress.step, 1);
}

#[test]
fn the_ladder_prints_one_row_per_rung() {
    let stdout = ok(&["escalera", "--pasos", "3", "--eval-lotes", "1"]);
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 2 + 8, "{stdout}");
    assert!(rows[2].starts_with("| 1. bigrama | 7921 |"), "{stdout}");
    assert!(rows[8].starts_with("| 7. + dropout"), "{stdout}");
    // La GELU cambia la función, no los pesos: los mismos parámetros que el peldaño 7.
    let params = |row: &str| row.split('|').nth(2).unwrap().trim().to_string();
    assert!(
        rows[9].starts_with("| 8. + GELU en vez de ReLU |"),
        "{stdout}"
    );
    assert_eq!(params(rows[9]), params(rows[8]), "{stdout}");
}

/// Ctrl-C (SIGINT) no corta a mitad: termina el paso, estima y guarda un punto de control
/// entero.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_keeps_a_checkpoint() {
    use std::process::{Command, Stdio};
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["entrenar", "--preset", "diminuto", "--pasos", "10000000"])
        .args(["--eval-cada", "10000000", "--eval-lotes", "1", "--salidas"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // El primer punto de control aparece tras la estimación del paso 0, ya con el manejador
    // puesto.
    let ckpt = dir.path().join("gpt.safetensors");
    while !ckpt.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "el programa terminó antes de tiempo"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: enviar una señal a un proceso hijo nuestro.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 130: interrumpido (un guion lo distingue de un entrenamiento completo, que da 0).
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Interrumpido con Ctrl-C"), "{stdout}");
    let loaded = checkpoint::load(&ckpt, &Device::Cpu).unwrap();
    assert!(loaded.progress.step >= 1);
    assert_eq!(
        loaded.progress.history.last().unwrap().step,
        loaded.progress.step
    );
}
