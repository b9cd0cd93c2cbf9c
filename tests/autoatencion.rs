//! Capítulo 06: las tres versiones del promedio coinciden, los pesos de atención son causales
//! y suman 1, la cabeza de ndarray y la de candle dan lo mismo, todas las piezas reciben
//! gradiente, la escala hace lo que dice el libro y el modelo aprende. Y las instantáneas que
//! muestra el libro.

mod comun;

use candle_core::{Device, Tensor};
use comun::{real_corpus, run_chapter};
use gpt_desde_cero::model::attention::{
    self, Head, HeadModel, HeadModelConfig, HeadWeights, TrainConfig,
};
use gpt_desde_cero::model::layers::Params;
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::rng;
use ndarray::{Array2, ArrayView2, Axis};

/// Comprueba que `w` es triangular inferior (el futuro pesa exactamente 0), no negativa y
/// con filas que suman 1.
fn assert_causal_distribution(w: ArrayView2<f32>) {
    for ((i, j), &v) in w.indexed_iter() {
        if j > i {
            assert_eq!(v, 0.0, "peso del futuro en ({i}, {j})");
        } else {
            assert!(v >= 0.0, "peso negativo en ({i}, {j})");
        }
    }
    for (i, row) in w.rows().into_iter().enumerate() {
        let sum: f32 = row.sum();
        assert!((sum - 1.0).abs() < 1e-5, "la fila {i} suma {sum}");
    }
}

#[test]
fn the_three_averages_are_equal() {
    let mut r = rng::seeded(1);
    for (b, t, c) in [(4, 8, 2), (1, 1, 1), (3, 17, 5), (2, 32, 8)] {
        let x = attention::toy_input(b, t, c, &mut r);
        let v1 = attention::average_loops(x.view());
        let v2 = attention::average_tril(x.view());
        let v3 = attention::average_softmax(x.view());
        assert_eq!(v1.dim(), (b, t, c));
        assert!(attention::max_abs_diff(v1.view(), v2.view()) < 1e-6);
        assert!(attention::max_abs_diff(v1.view(), v3.view()) < 1e-6);
        // La primera posición no tiene pasado: su media es ella misma.
        assert_eq!(v1.index_axis(Axis(1), 0), x.index_axis(Axis(1), 0));
    }
}

#[test]
fn averaging_weights_are_causal_distributions() {
    for t in [1, 2, 8, 33] {
        let w = attention::tril_weights(t);
        assert_causal_distribution(w.view());
        let zeros = Array2::<f32>::zeros((t, t));
        let w3 = attention::causal_softmax(zeros.view());
        assert!(w.iter().zip(&w3).all(|(a, b)| (a - b).abs() < 1e-7));
    }
}

#[test]
fn head_weights_are_causal_distributions() {
    let mut r = rng::seeded(2);
    let x = attention::toy_input(4, 8, 32, &mut r);
    let w = HeadWeights::random(32, 16, 1.0, &mut r);
    let head = attention::head_forward(&w, x.view());
    assert_eq!(head.weights.dim(), (4, 8, 8));
    assert_eq!(head.out.dim(), (4, 8, 16));
    for wei in head.weights.outer_iter() {
        assert_causal_distribution(wei);
    }
    // Los elementos del lote no se hablan: cambiar la secuencia 3 no cambia la 0.
    let mut x2 = x.clone();
    x2.index_axis_mut(Axis(0), 3).fill(7.0);
    let head2 = attention::head_forward(&w, x2.view());
    assert_eq!(
        head.out.index_axis(Axis(0), 0),
        head2.out.index_axis(Axis(0), 0)
    );
    // Y una posición no ve el futuro: cambiar la última no cambia las anteriores.
    let mut x3 = x.clone();
    x3.index_axis_mut(Axis(1), 7).fill(-3.0);
    let head3 = attention::head_forward(&w, x3.view());
    let before = |o: &ndarray::Array3<f32>| o.slice(ndarray::s![.., ..7, ..]).to_owned();
    assert_eq!(before(&head.out), before(&head3.out));
}

#[test]
fn without_positions_the_past_is_a_set() {
    // La cabeza no sabe en qué orden llegaron los tokens: la última posición, que ve a
    // todas, obtiene lo mismo si se barajan las anteriores. Por eso el modelo necesita
    // incrustaciones de posición.
    let mut r = rng::seeded(10);
    let x = attention::toy_input(2, 6, 8, &mut r);
    let w = HeadWeights::random(8, 4, 0.5, &mut r);
    let perm = [3, 0, 4, 1, 2, 5];
    let shuffled = ndarray::Array3::from_shape_fn((2, 6, 8), |(b, t, c)| x[[b, perm[t], c]]);
    let a = attention::head_forward(&w, x.view()).out;
    let b = attention::head_forward(&w, shuffled.view()).out;
    let last = |o: &ndarray::Array3<f32>| o.slice(ndarray::s![.., 5, ..]).to_owned();
    let diff = (last(&a) - last(&b))
        .mapv(f32::abs)
        .fold(0.0, |m: f32, &v| m.max(v));
    assert!(diff < 1e-5, "diferencia {diff}");
    // Las posiciones intermedias sí cambian: ven otro pasado.
    assert!(attention::max_abs_diff(a.view(), b.view()) > 1e-2);
}

#[test]
fn ndarray_and_candle_heads_agree() {
    let dev = Device::Cpu;
    let mut r = rng::seeded(3);
    for (b, t, c, hs) in [(4, 8, 32, 16), (2, 5, 7, 3), (1, 32, 32, 32)] {
        let x = attention::toy_input(b, t, c, &mut r);
        let w = HeadWeights::random(c, hs, attention::linear_init_std(c), &mut r);
        let want = attention::head_forward(&w, x.view());
        let mut params = Params::new(&dev);
        let head = Head::from_weights(&mut params, "h", &w).unwrap();
        let (out, wei) = head
            .forward_with_weights(&attention::to_tensor3(x.view(), &dev).unwrap())
            .unwrap();
        let out = attention::from_tensor3(&out).unwrap();
        let wei = attention::from_tensor3(&wei).unwrap();
        assert!(attention::max_abs_diff(out.view(), want.out.view()) < 1e-5);
        assert!(attention::max_abs_diff(wei.view(), want.weights.view()) < 1e-5);
        for w in wei.outer_iter() {
            assert_causal_distribution(w);
        }
    }
    // `Head::new` saca del RNG lo mismo que `HeadWeights::random`.
    let mut params = Params::new(&dev);
    Head::new(&mut params, "h", (6, 4), 0.5, &mut rng::seeded(9)).unwrap();
    let w = HeadWeights::random(6, 4, 0.5, &mut rng::seeded(9));
    let key: Vec<Vec<f32>> = params.get("h.key.weight").unwrap().to_vec2().unwrap();
    assert_eq!(key.concat(), w.key.iter().copied().collect::<Vec<_>>());
}

fn assert_every_gradient_is_nonzero(params: &Params, loss: &Tensor) {
    let grads = loss.backward().unwrap();
    for (name, var) in params.named() {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name} sin gradiente"));
        let norm: f32 = g.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
        assert!(norm > 0.0, "{name}: gradiente nulo");
    }
}

#[test]
fn every_parameter_of_the_head_gets_a_gradient() {
    let dev = Device::Cpu;
    let mut r = rng::seeded(4);
    let mut params = Params::new(&dev);
    let head = Head::new(&mut params, "h", (8, 4), 0.3, &mut r).unwrap();
    assert_eq!(params.named().len(), 3);
    let x = attention::toy_input(2, 6, 8, &mut r);
    let (out, _) = head
        .forward_with_weights(&attention::to_tensor3(x.view(), &dev).unwrap())
        .unwrap();
    let loss = out.sqr().unwrap().sum_all().unwrap();
    assert_every_gradient_is_nonzero(&params, &loss);
}

#[test]
fn every_parameter_of_the_model_gets_a_gradient() {
    let dev = Device::Cpu;
    let mut r = rng::seeded(5);
    let config = HeadModelConfig::new(11, 6);
    let model = HeadModel::new(config, &dev, &mut r).unwrap();
    let names: Vec<&str> = model
        .params()
        .named()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "token_embedding.weight",
            "position_embedding.weight",
            "sa_head.key.weight",
            "sa_head.query.weight",
            "sa_head.value.weight",
            "lm_head.weight",
            "lm_head.bias",
        ]
    );
    assert_eq!(
        model.params().count(),
        11 * 32 + 6 * 32 + 3 * 32 * 32 + 32 * 11 + 11
    );
    let idx = Tensor::new(&[[0u32, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 0]], &dev).unwrap();
    let targets = Tensor::new(&[[1u32, 2, 3, 4, 5, 6], [7, 8, 9, 10, 0, 1]], &dev).unwrap();
    let loss = model.loss(&idx, &targets).unwrap();
    assert_every_gradient_is_nonzero(model.params(), &loss);
}

#[test]
fn attention_of_a_phrase_is_causal_and_checked() {
    let dev = Device::Cpu;
    let model = HeadModel::new(HeadModelConfig::new(11, 6), &dev, &mut rng::seeded(6)).unwrap();
    let w = model.attention(&[1, 2, 3, 4]).unwrap();
    assert_eq!(w.dim(), (4, 4));
    assert_causal_distribution(w.view());
    let too_long = model.attention(&[1; 7]).unwrap_err().to_string();
    assert!(too_long.contains("como mucho 6"), "{too_long}");
    assert!(model.attention(&[]).is_err());
    // Generar más allá del contexto recorta a los últimos `block_size` tokens.
    let ids = model.generate(&[0], 20, &mut rng::seeded(1)).unwrap();
    assert_eq!(ids.len(), 21);
    assert!(ids.iter().all(|&i| i < 11));
}

#[test]
fn the_scale_brings_the_variance_back_to_one() {
    // Con muchas muestras, las varianzas son las que predice la teoría.
    let v = attention::scale_variances(16, 64, 64, &mut rng::seeded(7));
    assert!((v.key - 1.0).abs() < 0.05, "{v:?}");
    assert!((v.query - 1.0).abs() < 0.05, "{v:?}");
    assert!((v.unscaled / 64.0 - 1.0).abs() < 0.1, "{v:?}");
    assert!((v.scaled - 1.0).abs() < 0.1, "{v:?}");
    // Escalar por 1/√hs divide la varianza exactamente por hs.
    assert!((v.unscaled / v.scaled - 64.0).abs() < 1e-3, "{v:?}");

    // Softmax de entradas grandes se acerca a un vector one-hot.
    let p = attention::softmax(&attention::SOFTMAX_EXAMPLE);
    let sharp: Vec<f32> = attention::SOFTMAX_EXAMPLE.iter().map(|x| x * 8.0).collect();
    let q = attention::softmax(&sharp);
    let max = |v: &[f32]| v.iter().copied().fold(0.0, f32::max);
    assert!(max(&p) < 0.3 && max(&q) > 0.79, "{p:?} {q:?}");
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-6);
}

#[test]
fn a_short_training_run_lowers_the_loss() {
    let text = real_corpus();
    let tok = Tokenizer::from_text(text);
    let ds = Dataset::split(&dataset::encode_text(&tok, text).unwrap(), TRAIN_FRACTION);
    let mut r = rng::seeded(8);
    let config = HeadModelConfig::new(tok.vocab_size(), 16);
    let model = HeadModel::new(config, &Device::Cpu, &mut r).unwrap();
    let cfg = TrainConfig {
        steps: 60,
        batch_size: 16,
        learning_rate: 1e-2,
        eval_interval: 30,
        eval_iters: 8,
    };
    let mut steps = 0;
    let history = attention::train(&model, &ds, &cfg, &mut r, |s, _| steps = s, |_| {}).unwrap();
    assert_eq!(steps, 60);
    // Como en gpt.py: cada `eval_interval` pasos y antes del último.
    let at: Vec<usize> = history.iter().map(|p| p.step).collect();
    assert_eq!(at, [0, 30, 59]);
    let (first, last) = (history[0], history[2]);
    // Al empezar, cerca de ln(89) ≈ 4.49 (adivinar al azar); después, bastante menos.
    assert!((first.val - 89f32.ln()).abs() < 0.5, "{first:?}");
    assert!(last.train < first.train - 1.0, "{history:?}");
    assert!(last.val < first.val - 1.0, "{history:?}");
}

// ---------------------------------------------------------------------------------------
// Instantáneas (las muestra el libro).
// ---------------------------------------------------------------------------------------

/// Cada matriz de un lote `(B, T, C)` como `nombre[b] =` y sus filas, con 6 decimales.
fn matrices<'a>(name: &str, arrays: impl Iterator<Item = ArrayView2<'a, f32>>) -> String {
    arrays
        .enumerate()
        .map(|(b, m)| format!("{name}[{b}] =\n{}", attention::format_matrix(m, 6)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn snapshot_of_the_three_versions() {
    let x = attention::toy_input(4, 8, 2, &mut rng::seeded(rng::DEFAULT_SEED));
    let mut text = format!("{}\n", matrices("x", x.outer_iter()));
    for (title, name, v) in [
        (
            "Versión 1 (bucles)",
            "xbow",
            attention::average_loops(x.view()),
        ),
        (
            "Versión 2 (matriz triangular)",
            "xbow2",
            attention::average_tril(x.view()),
        ),
        (
            "Versión 3 (máscara y softmax)",
            "xbow3",
            attention::average_softmax(x.view()),
        ),
    ] {
        text.push_str(&format!("\n{title}:\n{}\n", matrices(name, v.outer_iter())));
    }
    insta::assert_snapshot!("tres_versiones", text);
}

#[test]
fn snapshot_of_the_head_weights() {
    let mut r = rng::seeded(rng::DEFAULT_SEED);
    let x = attention::toy_input(4, 8, 32, &mut r);
    let w = HeadWeights::random(32, 16, attention::linear_init_std(32), &mut r);
    let head = attention::head_forward(&w, x.view());
    let wei0 = attention::format_matrix(head.weights.index_axis(Axis(0), 0), 6);
    insta::assert_snapshot!("pesos_8x8", wei0);
}

#[test]
fn snapshot_of_the_variances() {
    let v = attention::scale_variances(4, 8, 16, &mut rng::seeded(rng::DEFAULT_SEED));
    let p = attention::softmax(&attention::SOFTMAX_EXAMPLE);
    let sharp: Vec<f32> = attention::SOFTMAX_EXAMPLE.iter().map(|x| x * 8.0).collect();
    let q = attention::softmax(&sharp);
    let text = format!(
        "head_size = {}\nvar(k) = {:.6}\nvar(q) = {:.6}\nvar(q·kᵀ) = {:.6}\nvar(q·kᵀ/√head_size) = {:.6}\n\
         softmax(x) = {p:.6?}\nsoftmax(8x) = {q:.6?}",
        v.head_size, v.key, v.query, v.unscaled, v.scaled
    );
    insta::assert_snapshot!("varianzas", text);
}

/// La salida del programa, con 200 pasos, partida en sus secciones `== N. … ==`: una
/// instantánea por sección, para que el libro muestre cada una en su sitio.
#[test]
fn salida_06_autoatencion() {
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().join("salidas");
    let out = run_chapter(
        env!("CARGO_BIN_EXE_06_autoatencion"),
        &[
            "--pasos",
            "200",
            "--eval-lotes",
            "20",
            "--salidas",
            salidas.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(salidas.join("atencion.svg")).unwrap();
    let texts: Vec<&str> = svg.lines().map(str::trim).collect();
    assert!(texts.contains(&"M") && texts.contains(&"␣"), "{svg}");
    assert!(svg.contains("«En un lugar de la Mancha»"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stdout = stdout.replace(salidas.to_str().unwrap(), "salidas");
    assert!(stdout.contains("Diferencia máxima entre la versión 1 y la 2: 0,000000"));
    assert!(stdout.contains("Diferencia máxima con ndarray: salida 0,000000, pesos 0,000000"));
    assert!(stdout.contains("paso    199: "));

    instantaneas_por_seccion!(
        "06_autoatencion",
        &stdout,
        &[
            ("1_promedios", ""),
            ("2_cabeza", "== 2."),
            ("3_escala", "== 3."),
            ("4_candle", "== 4."),
            ("5_entrenamiento", "== 5."),
            ("6_mapa", "== 6."),
            ("7_texto", "== 7."),
        ]
    );
    comun::cabe_en_80_columnas(&stdout);
}

/// La tabla del capítulo 6 que compara el bigrama con la cabeza es la salida de
/// `cargo run --bin 06_autoatencion` sin argumentos (5000 pasos), y también la diferencia que
/// cita la prosa.
#[test]
fn la_tabla_del_libro_es_la_salida_del_programa() {
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().to_str().unwrap();
    let out = comun::chapter_stdout(
        env!("CARGO_BIN_EXE_06_autoatencion"),
        &["--salidas", salidas],
    );
    let bigram = comun::number_after(&out, "bigrama (una tabla, sin contexto):");
    let head = comun::number_after(&out, "una cabeza de autoatención:");
    let page = comun::book_page("cap06_modelo.md");
    let row = comun::book_line(&page, "| bigrama (capítulo 5) |");
    assert!(
        row.ends_with(&format!("| {} |", comun::spanish(bigram, 4))),
        "{row}"
    );
    let row = comun::book_line(&page, "| una cabeza de autoatención |");
    assert!(
        row.ends_with(&format!("| **{}** |", comun::spanish(head, 4))),
        "{row}"
    );
    let gap = format!("baja la pérdida {}", comun::spanish(bigram - head, 2));
    assert!(page.contains(&gap), "el libro no dice «{gap}»");
}
