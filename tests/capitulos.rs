//! Los capítulos 01–04 sobre el corpus real: los valores de referencia del cuaderno y la
//! salida completa de cada programa (instantáneas revisadas, que el libro también muestra).

mod comun;

use comun::{chapter_stdout, real_corpus};
use gpt_desde_cero::text::batches::{context_target_pairs, get_batch};
use gpt_desde_cero::text::dataset::{self, Dataset, Split, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::{tools::pretty, tools::rng};

const VOCAB: &str = "\n !\"'(),-.0123456789:;<?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijlmnopqrstuvxyz¡«»¿\u{300}\u{301}\u{303}\u{308}–‘’“”";

#[test]
fn reference_values_of_the_notebook() {
    let text = real_corpus();
    assert_eq!(text.chars().count(), 1038397);
    let tok = Tokenizer::from_text(text);
    assert_eq!(tok.vocabulary(), VOCAB);
    assert_eq!(tok.vocab_size(), 89);

    let data = dataset::encode_text(&tok, text).unwrap();
    assert_eq!(data.len(), 1038397);
    assert_eq!(
        data.as_slice().unwrap()[..25],
        [
            27, 38, 37, 1, 40, 44, 32, 33, 38, 43, 28, 1, 27, 28, 1, 35, 24, 1, 36, 24, 37, 26, 31,
            24, 0
        ]
    );
    assert_eq!(
        tok.decode(&data.as_slice().unwrap()[..25]).unwrap(),
        "DON QUIJOTE DE LA MANCHA\n"
    );

    let ds = Dataset::split(&data, TRAIN_FRACTION);
    assert_eq!(ds.train.len(), 934557);
    let val = ds.val.as_slice().unwrap();
    assert_eq!(val[..3], [62, 60, 53]);
    assert_eq!(val[val.len() - 3..], [32, 42, 0]);

    let chunk = &ds.train.as_slice().unwrap()[..9];
    assert_eq!(chunk, [27, 38, 37, 1, 40, 44, 32, 33, 38]);
    let pairs = context_target_pairs(chunk);
    assert_eq!(pairs.len(), 8);
    assert_eq!(pairs[7], (vec![27, 38, 37, 1, 40, 44, 32, 33], 38));
}

#[test]
fn batch_with_seed_1337_is_the_same_everywhere() {
    let text = real_corpus();
    let tok = Tokenizer::from_text(text);
    let ds = Dataset::split(&dataset::encode_text(&tok, text).unwrap(), TRAIN_FRACTION);
    let (x, y) = get_batch(&ds, Split::Train, 4, 8, &mut rng::seeded(1337));
    assert_eq!(x.dim(), (4, 8));
    assert_eq!(y.dim(), (4, 8));
    let batch = format!(
        "x =\n{}\ny =\n{}",
        pretty::ids_2d(x.view()),
        pretty::ids_2d(y.view())
    );
    insta::assert_snapshot!("lote_semilla_1337", batch);
}

#[test]
fn salida_01_datos() {
    let out = chapter_stdout(env!("CARGO_BIN_EXE_01_datos"), &[]);
    assert!(out.starts_with("Caracteres del texto: 1\u{202F}038\u{202F}397\n"));
    // El libro muestra el principio; el párrafo de casi 3000 caracteres queda en la prueba.
    instantaneas_por_seccion!(
        "01_datos",
        &out,
        &[("inicio", ""), ("parrafo", "En un lugar de la Mancha")]
    );
}

#[test]
fn salida_02_codificacion() {
    let out = chapter_stdout(env!("CARGO_BIN_EXE_02_codificacion"), &[]);
    assert!(out.contains(VOCAB));
    assert!(out.contains("Tamaño del vocabulario: 89\n"));
    insta::assert_snapshot!("02_codificacion", out);
}

#[test]
fn salida_03_tensores() {
    let out = chapter_stdout(env!("CARGO_BIN_EXE_03_tensores"), &[]);
    assert!(out.contains("n = 934\u{202F}557\n"));
    assert!(out.contains("Validación: [62, 60, 53, ..., 32, 42, 0]\n"));
    let secciones = [
        ("tensor", ""),
        ("division", "División 90/10"),
        ("frecuencias", "Los diez caracteres"),
    ];
    instantaneas_por_seccion!("03_tensores", &out, &secciones);
    // Los mil identificadores ocupan 56 renglones: el libro enseña los seis primeros, en su
    // propia instantánea (y la prueba falla si el tensor deja de tenerlos).
    let tensor = comun::partir(&out, &secciones)[0].1;
    let inicio: Vec<&str> = tensor.lines().take(8).collect();
    assert_eq!(inicio.len(), 8, "{tensor}");
    assert!(inicio[1].starts_with("Los primeros 1000 identificadores"));
    insta::assert_snapshot!("03_tensores_tensor_inicio", inicio.join("\n"));
}

#[test]
fn salida_04_lotes() {
    let out = chapter_stdout(env!("CARGO_BIN_EXE_04_lotes"), &[]);
    assert!(out.contains("entradas x: forma (4, 8)\n"));
    instantaneas_por_seccion!(
        "04_lotes",
        &out,
        &[
            ("pares", ""),
            ("lote", "Un lote de entrenamiento"),
            ("filas", "Las mismas filas"),
        ]
    );
}
