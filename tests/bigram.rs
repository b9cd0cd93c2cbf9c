//! Capítulo 5: el bigrama a mano y en candle calculan lo mismo, y ambos llegan a la pérdida
//! de referencia de PyTorch sobre el Quijote.

mod comun;

use candle_core::{Device, Tensor};
use comun::{real_corpus, run_chapter};
use gpt_desde_cero::model::bigram::{self, Bigram, CandleBigram, HandBigram, TrainConfig};
use gpt_desde_cero::text::dataset::{self, Dataset, Split, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::{text::batches, tools::rng};
use ndarray::Array2;

/// PyTorch, con el bigrama del cuaderno, tras 10 000 pasos (estimaciones de 200 lotes).
const PYTORCH_TRAIN: f32 = 2.229;
const PYTORCH_VAL: f32 = 2.255;

fn real_dataset() -> (Tokenizer, Dataset) {
    let text = real_corpus();
    let tok = Tokenizer::from_text(text);
    let ds = Dataset::split(&dataset::encode_text(&tok, text).unwrap(), TRAIN_FRACTION);
    (tok, ds)
}

fn max_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    (a - b).mapv(f32::abs).fold(0.0, |m, &v| m.max(v))
}

fn to_array(t: &Tensor) -> Array2<f32> {
    let dims = t.dims2().unwrap();
    Array2::from_shape_vec(dims, t.flatten_all().unwrap().to_vec1().unwrap()).unwrap()
}

#[test]
fn candle_loss_and_gradient_equal_the_hand_version() {
    let (_, ds) = real_dataset();
    let mut r = rng::seeded(1337);
    let table = bigram::initial_table(89, &mut r);
    let (x, y) = batches::get_batch(&ds, Split::Train, 32, 8, &mut r);
    let (x, y) = (x.as_slice().unwrap(), y.as_slice().unwrap());

    let (hand_loss, hand_grad) = bigram::loss_and_grad_naive(&table, x, y);
    let model = CandleBigram::new(&table, 1e-3, &Device::Cpu).unwrap();
    let loss = model.loss_tensor(x, y).unwrap();
    let grads = loss.backward().unwrap();
    let candle_grad = to_array(
        grads
            .get(model.table.as_tensor())
            .expect("la tabla recibe gradiente"),
    );

    assert!((loss.to_scalar::<f32>().unwrap() - hand_loss).abs() < 1e-5);
    assert!(max_diff(&candle_grad, &hand_grad) < 1e-5);
    // Solo las filas de los tokens del lote reciben gradiente, y todas ellas lo reciben.
    for c in 0..89u32 {
        let norm: f32 = candle_grad.row(c as usize).iter().map(|g| g.abs()).sum();
        assert_eq!(norm > 0.0, x.contains(&c), "fila {c}");
    }
}

#[test]
fn twenty_adamw_steps_agree() {
    let (_, ds) = real_dataset();
    let mut r = rng::seeded(7);
    let table = bigram::initial_table(89, &mut r);
    let mut hand = HandBigram::new(table.clone(), 1e-3);
    let mut candle = CandleBigram::new(&table, 1e-3, &Device::Cpu).unwrap();
    for _ in 0..20 {
        let (x, y) = batches::get_batch(&ds, Split::Train, 32, 8, &mut r);
        let (x, y) = (x.as_slice().unwrap(), y.as_slice().unwrap());
        let a = hand.train_step(x, y).unwrap();
        let b = candle.train_step(x, y).unwrap();
        assert!((a - b).abs() < 1e-4, "pérdidas {a} y {b}");
    }
    let diff = max_diff(&hand.table, &candle.table().unwrap());
    assert!(diff < 1e-4, "las tablas difieren en {diff}");
    assert!(
        max_diff(&hand.table, &table) > 1e-3,
        "las tablas no se movieron"
    );
}

fn full_run(engine: &str, model: &mut dyn Bigram, ds: &Dataset, r: &mut rng::Rng) -> (f32, f32) {
    let cfg = TrainConfig::default();
    let report = bigram::train(model, ds, &cfg, r, |_, _| {}, |_| {}).unwrap();
    let last = report.curve.last().unwrap();
    // Como en gpt.py: la última estimación, antes del último paso.
    assert_eq!(last.step, 9_999);
    assert!(
        (last.train - PYTORCH_TRAIN).abs() <= 0.03 && (last.val - PYTORCH_VAL).abs() <= 0.03,
        "{engine}: entrenamiento {:.4}, validación {:.4}; PyTorch {PYTORCH_TRAIN}, {PYTORCH_VAL}",
        last.train,
        last.val
    );
    (last.train, last.val)
}

#[test]
fn both_engines_reach_the_pytorch_reference_after_10000_steps() {
    let (_, ds) = real_dataset();
    let mut r = rng::seeded(1337);
    let table = bigram::initial_table(89, &mut r);
    let mut hand = HandBigram::new(table.clone(), 1e-3);
    let hand_losses = full_run("ndarray", &mut hand, &ds, &mut r.clone());
    let mut candle = CandleBigram::new(&table, 1e-3, &Device::Cpu).unwrap();
    let candle_losses = full_run("candle", &mut candle, &ds, &mut r);
    // Mismos lotes y misma tabla inicial: los dos motores casi coinciden.
    assert!((hand_losses.0 - candle_losses.0).abs() < 1e-3);
    assert!((hand_losses.1 - candle_losses.1).abs() < 1e-3);
}

#[test]
fn initial_loss_shapes_and_samples() {
    let (tok, ds) = real_dataset();
    let mut r = rng::seeded(1337);
    let table = bigram::initial_table(89, &mut r);
    let (x, y) = batches::get_batch(&ds, Split::Train, 4, 8, &mut r);
    let logits = bigram::logits(&table, x.as_slice().unwrap());
    let loss = bigram::cross_entropy(logits.view(), y.as_slice().unwrap());
    // Una tabla N(0, 1) empieza peor que la uniforme: ≈ ln 89 + 1/2.
    assert!(loss > (89f32).ln());
    let untrained = tok
        .decode(&bigram::generate(&table, 0, 100, &mut r))
        .unwrap();

    let mut model = HandBigram::new(table, 1e-3);
    let cfg = TrainConfig {
        steps: 2_000,
        eval_interval: 1_000,
        eval_iters: 20,
        ..TrainConfig::default()
    };
    bigram::train(&mut model, &ds, &cfg, &mut r, |_, _| {}, |_| {}).unwrap();
    let trained = tok
        .decode(&bigram::generate(&model.table, 0, 200, &mut r))
        .unwrap();

    insta::assert_snapshot!(
        "bigram_inicio",
        format!(
            "forma de los logits: {:?}\npérdida inicial: {loss:.4}\n\
             sin entrenar (semilla 1337):\n{untrained}\n\
             tras 2000 pasos (semilla 1337):\n{trained}",
            logits.dim()
        )
    );
}

#[test]
fn salida_05_bigram_corta() {
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().join("salidas");
    let out = run_chapter(
        env!("CARGO_BIN_EXE_05_bigram"),
        &["--pasos", "3000", "--salidas", salidas.to_str().unwrap()],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stdout = stdout.replace(salidas.to_str().unwrap(), "salidas");
    let csv = std::fs::read_to_string(salidas.join("bigram_ndarray.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 4,
        "cabecera y pasos 0, 1000, 2000, 3000"
    );
    assert!(
        std::fs::read_to_string(salidas.join("bigram_ndarray.svg"))
            .unwrap()
            .starts_with("<svg")
    );
    instantaneas_por_seccion!(
        "05_bigram",
        &stdout,
        &[
            ("inicio", ""),
            ("antes", "Texto antes de entrenar"),
            ("entrenamiento", "Entrenando "),
            ("despues", "Texto después de entrenar"),
        ]
    );
    comun::cabe_en_80_columnas(&stdout);
}

/// La tabla del capítulo 5 («Con la semilla 1337 termina así») es la salida de
/// `cargo run --bin 05_bigram` sin argumentos: si el programa cambia, esta prueba lo dice.
#[test]
fn la_tabla_del_libro_es_la_salida_del_programa() {
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().to_str().unwrap();
    let out = comun::chapter_stdout(env!("CARGO_BIN_EXE_05_bigram"), &["--salidas", salidas]);
    let last = out
        .lines()
        .rfind(|l| l.starts_with("paso   9999:"))
        .expect("la estimación del paso 9999");
    let train = comun::number_after(last, "pérdida de entrenamiento");
    let val = comun::number_after(last, "de validación");
    let batch = comun::number_after(&out, "Pérdida del último lote:");
    let page = comun::book_page("cap05_entrenar.md");
    let row = comun::book_line(&page, "| este libro (ndarray, a mano) |");
    let expected = format!(
        "| este libro (ndarray, a mano) | {} | {} | {} |",
        comun::spanish(train, 4),
        comun::spanish(val, 4),
        comun::spanish(batch, 4)
    );
    assert_eq!(
        row, expected,
        "la tabla del capítulo 5 no es lo que imprime el programa"
    );
}
