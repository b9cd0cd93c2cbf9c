//! El calificador (`cargo ejercicios`), sin ruido: cada prueba califica las soluciones de
//! referencia con un error puesto a propósito (un mutante, ver `comun/mutantes.rs`) con el
//! mismo programa que usa el alumno, y mira lo que este ve.
//!
//! Tres mutantes y la referencia intacta: cuatro compilaciones (unos segundos cada una con las
//! dependencias ya compiladas); las pruebas que comparten mutante reutilizan su programa.

// Las pruebas escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

#[path = "comun/mutantes.rs"]
mod mutantes;

use mutantes::{Graded, Mutation, grade, report};

/// 7.11 sin recortar el contexto (candle devuelve un error), 6.3 con un índice fuera de
/// rango (pánico dentro de ndarray) y 7.12 que descarta también los empates (un fallo que
/// proptest encoge). El capítulo 1 queda bien.
const VARIOUS: &[Mutation] = &[
    Mutation {
        chapter: "cap07",
        original: "let from = ids.len().saturating_sub(model.config.block_size);",
        replacement: "let from = 0;",
    },
    Mutation {
        chapter: "cap06",
        original: "            for j in 0..=i {\n                let mut out_row",
        replacement: "            for j in 0..=i + 1 {\n                let mut out_row",
    },
    Mutation {
        chapter: "cap07",
        original: "if *v < threshold {",
        replacement: "if *v <= threshold {",
    },
];

/// 1.1 con un bucle sin fin (olvida avanzar `i`) cuyo contador desborda.
const ENDLESS_LOOP: &[Mutation] = &[Mutation {
    chapter: "cap01",
    original: "    text.chars().count()",
    replacement: "    let (mut n, i) = (0usize, 0);\n    while i < text.len() {\n        n += 1;\n    }\n    n",
}];

/// 1.1 que corta el texto por un byte que puede caer en mitad de un carácter.
const SLICE_PANIC: &[Mutation] = &[Mutation {
    chapter: "cap01",
    original: "    text.chars().count()",
    replacement: "    text[..2].chars().count()",
}];

/// Una línea de una traza: «  12: candle_core::…» o «      at /ruta/archivo.rs:3:5».
fn is_backtrace_line(line: &str) -> bool {
    let l = line.trim_start();
    let numbered = l
        .split_once(": ")
        .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    (numbered && line.starts_with(' ')) || (l.starts_with("at ") && l.contains(".rs:"))
}

fn show(g: &Graded) -> String {
    format!(
        "código {:?}\n--- salida ---\n{}--- errores ---\n{}",
        g.code, g.stdout, g.stderr
    )
}

#[test]
fn con_rust_backtrace_un_error_de_candle_se_ve_limpio() {
    for env in [
        [("RUST_BACKTRACE", "1"), ("RUST_LIB_BACKTRACE", "0")],
        [("RUST_BACKTRACE", "full"), ("RUST_LIB_BACKTRACE", "1")],
    ] {
        let g = grade(VARIOUS, &["7.11"], &env);
        eprintln!(
            "mutante de 7.11: compilar {:.1} s, calificar {:.1} s",
            g.build.as_secs_f64(),
            g.run.as_secs_f64()
        );
        assert_eq!(g.code, Some(1), "{}", show(&g));
        let lines = report(&g.stdout, "7.11");
        let text = lines.join("\n");
        assert!(
            text.contains("la función devolvió el error: "),
            "{text}\n\n{}",
            show(&g)
        );
        assert!(
            lines.len() <= 8,
            "{} líneas con {env:?}:\n{text}",
            lines.len()
        );
        let all = g.all();
        assert!(
            !all.lines().any(is_backtrace_line) && !all.contains("backtrace"),
            "una traza con {env:?}:\n{}",
            show(&g)
        );
    }
}

#[test]
fn proptest_no_escribe_nada_al_alumno() {
    // Con un límite de encogimiento mínimo en el entorno, proptest lo cortaba y avisaba en
    // inglés por la salida de errores.
    let g = grade(
        VARIOUS,
        &["7.12"],
        &[
            ("PROPTEST_MAX_SHRINK_ITERS", "1"),
            ("PROPTEST_MAX_SHRINK_TIME", "1"),
        ],
    );
    assert_eq!(g.code, Some(1), "{}", show(&g));
    let text = report(&g.stdout, "7.12").join("\n");
    assert!(text.contains("la entrada más pequeña que falla"), "{text}");
    assert!(!g.all().contains("proptest"), "{}", show(&g));
    assert!(g.stderr.trim().is_empty(), "{}", show(&g));
}

#[test]
fn un_bucle_sin_fin_que_desborda_se_explica_como_bucle_sin_fin() {
    let g = grade(ENDLESS_LOOP, &["1.1"], &[]);
    eprintln!(
        "mutante de 1.1 (bucle): compilar {:.1} s, calificar {:.1} s",
        g.build.as_secs_f64(),
        g.run.as_secs_f64()
    );
    assert_eq!(g.code, Some(1), "{}", show(&g));
    let text = report(&g.stdout, "1.1").join("\n");
    // El compilador convierte el bucle en el desbordamiento de su contador: así lo
    // comprobamos de verdad (sin él, acabaría por el límite de tiempo, y eso ya se explica).
    assert!(text.contains("attempt to add with overflow"), "{text}");
    assert!(text.contains("¿un bucle que no acaba nunca?"), "{text}");
    assert!(text.contains("con \"año\""), "{text}");
}

#[test]
fn un_panico_ensena_la_entrada_en_1_1() {
    let g = grade(SLICE_PANIC, &["1.1"], &[]);
    assert_eq!(g.code, Some(1), "{}", show(&g));
    let lines = report(&g.stdout, "1.1");
    let text = lines.join("\n");
    assert_eq!(
        lines.get(1).map(|l| l.trim()),
        Some("con \"año\""),
        "{text}"
    );
    assert!(
        text.contains("la función entró en pánico en ejercicios/cap01_datos.rs:"),
        "{text}"
    );
}

#[test]
fn un_panico_ensena_la_entrada_en_6_3() {
    let g = grade(VARIOUS, &["6.3"], &[]);
    assert_eq!(g.code, Some(1), "{}", show(&g));
    let lines = report(&g.stdout, "6.3");
    let text = lines.join("\n");
    assert!(
        lines.get(1).is_some_and(|l| l.trim().starts_with("con x de forma (")
            && l.contains("head_size = ")),
        "{text}"
    );
    assert!(text.contains("la función entró en pánico"), "{text}");
}

#[test]
fn ayuda_en_espanol() {
    for flag in ["--help", "-h"] {
        let g = grade(VARIOUS, &[flag], &[]);
        assert_eq!(g.code, Some(0), "{}", show(&g));
        assert!(
            g.stdout.starts_with("Uso: cargo ejercicios"),
            "{}",
            show(&g)
        );
        for option in [
            "cap5",
            "5.2",
            "cross_entropy",
            "--pista",
            "--reiniciar",
            "--entrenar bigram|gpt",
            "--preset",
            "--comprobar",
            "--deben-fallar",
            "--help",
        ] {
            assert!(g.stdout.contains(option), "falta {option}:\n{}", g.stdout);
        }
        assert!(!g.stdout.contains("Calificando"), "calificó:\n{}", g.stdout);
        for line in g.stdout.lines() {
            assert!(line.chars().count() <= 80, "más de 80 columnas: {line}");
        }
    }
}

#[test]
fn una_opcion_desconocida_sale_con_2() {
    for args in [
        &["--ayudame"][..],
        &["cap01", "--pistas"],
        &["--entrenar", "gpt", "--ayudame"],
    ] {
        let g = grade(VARIOUS, args, &[]);
        assert_eq!(g.code, Some(2), "{args:?}: {}", show(&g));
        assert!(g.stdout.contains("«--"), "{args:?}: {}", show(&g));
        assert!(
            g.stdout.contains("Uso: cargo ejercicios"),
            "{args:?}: {}",
            show(&g)
        );
        assert!(!g.stdout.contains("Calificando"), "{args:?}: {}", show(&g));
    }
}

#[test]
fn entrena_tus_modelos_solo_con_todo_superado() {
    // El capítulo 1 entero superado, pero quedan otros sin superar (6.3, 7.11, 7.12).
    let g = grade(VARIOUS, &["cap01"], &[]);
    assert_eq!(g.code, Some(0), "{}", show(&g));
    assert!(g.stdout.contains("Resultado: 2 de 2"), "{}", show(&g));
    assert!(!g.stdout.contains("entrena tus modelos"), "{}", show(&g));
}

#[test]
fn entrena_tus_modelos_con_todo_superado_y_sin_filtro() {
    // Las soluciones de referencia, sin mutar: todo superado.
    let g = grade(&[], &[], &[]);
    assert_eq!(g.code, Some(0), "{}", show(&g));
    assert!(g.stdout.contains(" passed, 0 failed"), "{}", show(&g));
    assert!(
        g.stdout
            .contains("entrena tus modelos: `cargo ejercicios --entrenar bigram`"),
        "{}",
        show(&g)
    );
}

#[test]
fn un_nombre_exacto_elige_solo_esa_funcion() {
    let g = grade(VARIOUS, &["cross_entropy"], &[]);
    assert_eq!(g.code, Some(0), "{}", show(&g));
    assert!(g.stdout.contains("Ejercicio 5.1 "), "{}", show(&g));
    assert!(!g.stdout.contains("Ejercicio 5.2 "), "{}", show(&g));
    // Un trozo de nombre sigue eligiendo todos los que lo contienen.
    let g = grade(VARIOUS, &["--pista", "cross_entr"], &[]);
    assert_eq!(g.code, Some(0), "{}", show(&g));
    assert!(g.stdout.contains("Ejercicio 5.1 "), "{}", show(&g));
    assert!(g.stdout.contains("Ejercicio 5.2 "), "{}", show(&g));
}

/// `--entrenar` también reserva su carpeta de salida: con otro proceso en ella (aquí, esta
/// prueba), se niega diciendo su PID, sin entrenar. La raíz del proyecto del calificador de
/// los mutantes es `<target>/mutantes`.
#[test]
fn dos_entrenamientos_del_alumno_no_comparten_carpeta() {
    use gpt_desde_cero::tools::lock::OutputDir;
    let dir = mutantes::target_dir().join("mutantes/salidas/mi_bigram");
    let held = OutputDir::claim(&dir).unwrap();
    let g = grade(&[], &["--entrenar", "bigram"], &[]);
    let pid = format!("(PID {})", std::process::id());
    assert_eq!(g.code, Some(1), "{}", show(&g));
    assert!(
        g.stdout.contains("la está usando otro proceso") && g.stdout.contains(&pid),
        "{}",
        show(&g)
    );
    drop(held);
}

/// Los tres huecos del issue 22 (punto 5): 5.4 con `>=` en vez de `>`, 6.3 sin el factor
/// `1/√hs` y 7.3 con `k·qᵀ` en vez de `q·kᵀ`. Cada uno debe fallar con su diagnóstico.
const EDGE_SAMPLE: &[Mutation] = &[Mutation {
    chapter: "cap05",
    original: "        if u < acc {",
    replacement: "        if acc >= u {",
}];

const NO_SCALE: &[Mutation] = &[Mutation {
    chapter: "cap06",
    original: "scores[[i, j]] = q.row(i).dot(&k.row(j)) / (hs as f32).sqrt();",
    replacement: "scores[[i, j]] = q.row(i).dot(&k.row(j));",
}];

const TRANSPOSED_SCORES: &[Mutation] = &[Mutation {
    chapter: "cap07",
    original: "let scores = (q.matmul(&k.t()?)? * scale)?;",
    replacement: "let scores = (k.matmul(&q.t()?)? * scale)?;",
}];

/// Califica `exercise` con `mutations`: debe fallar, y su informe contener `diagnosis`.
fn fails_with(mutations: &[Mutation], exercise: &str, diagnosis: &str) {
    let g = grade(mutations, &[exercise], &[]);
    eprintln!(
        "mutante de {exercise}: compilar {:.1} s, calificar {:.1} s",
        g.build.as_secs_f64(),
        g.run.as_secs_f64()
    );
    assert_eq!(g.code, Some(1), "{}", show(&g));
    let lines = report(&g.stdout, exercise);
    let text = lines.join("\n");
    assert!(text.contains("no superado"), "{text}");
    assert!(text.contains(diagnosis), "falta «{diagnosis}»:\n{text}");
}

#[test]
fn muestrear_con_mayor_o_igual_falla_en_el_empate() {
    fails_with(EDGE_SAMPLE, "5.4", "¿>= en vez de >?");
    // El primer borde que falla es el ejemplo del enunciado, `u = 0.7 → 2`.
    let g = grade(EDGE_SAMPLE, &["5.4"], &[]);
    let text = report(&g.stdout, "5.4").join("\n");
    assert!(
        text.contains("con (probs = [0.2, 0.5, 0.3], u = 0.7)")
            && text.contains("se esperaba 2")
            && text.contains("y se obtuvo 1"),
        "{text}"
    );
}

#[test]
fn muestrear_no_elige_un_token_de_probabilidad_cero() {
    // Solo el borde de u = 0: `u <= acc` elige el token 0, de probabilidad 0.
    const ZERO: &[Mutation] = &[Mutation {
        chapter: "cap05",
        original: "        if u < acc {",
        replacement: "        if u < acc || (u == 0.0 && acc == 0.0) {",
    }];
    fails_with(ZERO, "5.4", "tiene probabilidad 0: nunca debe salir");
}

/// Los bordes de 5.4 que califica `calificadores::cap05` son los del enunciado, y la
/// biblioteca da lo que dice el enunciado.
#[test]
fn los_bordes_del_muestreo_son_los_del_enunciado() {
    use gpt_desde_cero::model::sampling::sample_with;
    let cases: &[(&[f32], f32, usize)] = &[
        (&[0.2, 0.5, 0.3], 0.1, 0),
        (&[0.2, 0.5, 0.3], 0.69, 1),
        (&[0.2, 0.5, 0.3], 0.7, 2),
        (&[0.0, 1.0], 0.0, 1),
        (&[0.0, 0.0, 1.0], 0.0, 2),
        (&[0.25, 0.0, 0.75], 0.25, 2),
        (&[0.5, 0.5], 0.5, 1),
        (&[0.3, 0.3, 0.0, 0.0], 0.9, 1),
    ];
    for &(probs, u, want) in cases {
        assert_eq!(sample_with(probs, u), want, "{probs:?}, u = {u}");
    }
    let grader = include_str!("calificadores/cap05.rs");
    for &(probs, u, _) in cases {
        let line = format!("(&{probs:?}, {u:?}),");
        assert!(grader.contains(&line), "cap05.rs no prueba {line}");
    }
}

#[test]
fn una_cabeza_sin_escala_se_reconoce_en_6_3() {
    fails_with(NO_SCALE, "6.3", "¿olvidaste dividir por √hs?");
}

#[test]
fn las_afinidades_traspuestas_se_reconocen_en_7_3() {
    fails_with(
        TRANSPOSED_SCORES,
        "7.3",
        "¿k·qᵀ en vez de q·kᵀ? la traspuesta",
    );
}
