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
            "--semilla",
            "--reanudar",
            "--sobrescribir",
            "--comprobar",
            "--generar [gpt|bigram]",
            "--checkpoint",
            "--prompt",
            "--temperatura",
            "--top-k",
            "--top-p",
            "--tokens",
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
    let hints = mutantes::target_dir().join("mutantes/pistas-nombre");
    let _ = std::fs::remove_file(&hints);
    let env = [("CALIFICAR_PISTAS", hints.to_str().unwrap())];
    let g = grade(VARIOUS, &["--pista", "cross_entr"], &env);
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
/// `1/√d_k` y 7.3 con `k·qᵀ` en vez de `q·kᵀ`. Cada uno debe fallar con su diagnóstico. Son
/// mutantes de la lista [`MUTANTS`]: se califican con el programa de su tanda, ya compilado.
fn batch_of(name: &str) -> Vec<Mutation> {
    let batch = MUTANTS
        .iter()
        .find(|b| b.iter().any(|m| m.name == name))
        .unwrap_or_else(|| panic!("no hay mutante {name}"));
    batch.iter().map(|m| m.mutation).collect()
}

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
    fails_with(&batch_of("5.4 <="), "5.4", "¿>= en vez de >?");
    // El primer borde que falla es el ejemplo del enunciado, `u = 0.7 → 2`.
    let g = grade(&batch_of("5.4 <="), &["5.4"], &[]);
    let text = report(&g.stdout, "5.4").join("\n");
    assert!(
        text.contains("con (probs = [0,2; 0,5; 0,3], u = 0,7)")
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
    fails_with(
        &batch_of("6.3 sin 1/√d_k"),
        "6.3",
        "¿olvidaste dividir por √d_k?",
    );
}

#[test]
fn las_afinidades_traspuestas_se_reconocen_en_7_3() {
    fails_with(
        &batch_of("7.3 k·qᵀ"),
        "7.3",
        "¿k·qᵀ en vez de q·kᵀ? la traspuesta",
    );
}

/// Un error puesto a propósito en una solución de referencia, de una línea, que el
/// calificador de `exercise` debe rechazar.
#[derive(Clone, Copy)]
struct Mutant {
    /// Cómo lo llamamos en la tabla: el ejercicio y el error.
    name: &'static str,
    exercise: &'static str,
    mutation: Mutation,
}

macro_rules! mutant {
    ($name:literal, $exercise:literal, $chapter:literal, $original:expr => $replacement:expr) => {
        Mutant {
            name: $name,
            exercise: $exercise,
            mutation: Mutation {
                chapter: $chapter,
                original: $original,
                replacement: $replacement,
            },
        }
    };
}

/// Los mutantes del issue 22 (punto 5): al menos uno por ejercicio obligatorio y de todas
/// estas clases: `<` por `<=`, quitar un factor, trasponer, desplazar un índice, quitar el
/// máximo de la softmax, quitar un dropout, quitar una conexión residual y quitar las
/// posiciones.
///
/// Van en tandas, una compilación por tanda (compilar es lo que cuesta). En una tanda, a lo
/// sumo un mutante por ejercicio y ninguno en una pieza que use otro de la misma tanda (la
/// tabla `needs` de los calificadores): así el veredicto de cada uno es el que tendría solo.
/// Si no, su ejercicio sale «sin calificar» y la prueba lo dice.
const MUTANTS: &[&[Mutant]] = &[
    &[
        mutant!("1.1 cuenta bytes", "1.1", "cap01", "    text.chars().count()" => "    text.len()"),
        mutant!("2.1 sin quitar repetidos", "2.1", "cap02",
            ".collect::<BTreeSet<char>>()" => ".collect::<Vec<char>>()"),
        mutant!("3.1 redondea", "3.1", "cap03",
            "(len as f64 * train_fraction).floor() as usize"
            => "(len as f64 * train_fraction).round() as usize"),
        mutant!("4.1 índice +1", "4.1", "cap04", "for t in 1..chunk.len() {" => "for t in 2..chunk.len() {"),
        mutant!("4.2 y sin desplazar", "4.2", "cap04",
            "data[starts[r] + t + 1]" => "data[starts[r] + t]"),
        mutant!("5.1 sin el máximo", "5.1", "cap05",
            "let lse = m + row.iter().map(|z| (z - m).exp()).sum::<f32>().ln();"
            => "let lse = row.iter().map(|z| z.exp()).sum::<f32>().ln();"),
        mutant!("5.3 sin corregir el sesgo", "5.3", "cap05",
            "let m_hat = m[i] / (1.0 - b1.powi(t));" => "let m_hat = m[i];"),
        mutant!("5.4 <=", "5.4", "cap05", "        if u < acc {" => "        if u <= acc {"),
        mutant!("6.1 < en vez de <=", "6.1", "cap06",
            "if j <= i { 1.0 / (i + 1) as f32 } else { 0.0 }"
            => "if j < i { 1.0 / (i + 1) as f32 } else { 0.0 }"),
        mutant!("6.2 sin el máximo", "6.2", "cap06",
            "let max = allowed.iter().copied().fold(f32::MIN, f32::max);" => "let max = 0.0f32;"),
        mutant!("7.1 <=", "7.1", "cap07",
            "mask.push(if u < p { 0.0 } else { keep });"
            => "mask.push(if u <= p { 0.0 } else { keep });"),
        mutant!("7.2 sin weight", "7.2", "cap07", "        .broadcast_mul(&ln.weight)?\n" => ""),
        mutant!("7.12 índice +1", "7.12", "cap07",
            "let threshold = logits[order[k - 1]];" => "let threshold = logits[order[k]];"),
    ],
    &[
        mutant!("1.2 índice +1", "1.2", "cap01", "        .nth(n)" => "        .nth(n + 1)"),
        mutant!("2.2 índice +1", "2.2", "cap02",
            ".expect(\"carácter fuera del vocabulario\") as u32"
            => ".expect(\"carácter fuera del vocabulario\") as u32 + 1"),
        mutant!("3.2 asigna en vez de sumar", "3.2", "cap03",
            "counts[id as usize] += 1;" => "counts[id as usize] = 1;"),
        mutant!("4.3 0..=last", "4.3", "cap04",
            "rng.random_range(0..last)" => "rng.random_range(0..=last)"),
        mutant!("5.5 asigna en vez de sumar", "5.5", "cap05",
            "row += &dlogits.row(i);" => "row.assign(&dlogits.row(i));"),
        mutant!("5.6 sin el máximo", "5.6", "cap05",
            "let m = scaled.iter().cloned().fold(f32::NEG_INFINITY, f32::max);"
            => "let m = 0.0f32;"),
        mutant!("6.3 traspuesta", "6.3", "cap06",
            "scores[[i, j]] = q.row(i).dot(&k.row(j)) / (hs as f32).sqrt();"
            => "scores[[i, j]] = q.row(j).dot(&k.row(i)) / (hs as f32).sqrt();"),
        mutant!("7.3 k·qᵀ", "7.3", "cap07",
            "let scores = (q.matmul(&k.t()?)? * scale)?;"
            => "let scores = (k.matmul(&q.t()?)? * scale)?;"),
        mutant!("7.5 sin dropout", "7.5", "cap07",
            "dropout(&ffwd.down.forward(&wide)?, ffwd.dropout, mode)"
            => "ffwd.down.forward(&wide)"),
        mutant!("7.12 <=", "7.12", "cap07", "if *v < threshold {" => "if *v <= threshold {"),
    ],
    &[
        mutant!("2.3 al revés", "2.3", "cap02",
            "ids.iter().map(|&i| vocab[i as usize]).collect()"
            => "ids.iter().rev().map(|&i| vocab[i as usize]).collect()"),
        mutant!("5.2 sin 1/N", "5.2", "cap05",
            "row.mapv_inplace(|e| e / sum / n);" => "row.mapv_inplace(|e| e / sum);"),
        mutant!("5.3 sin decaimiento", "5.3", "cap05",
            "w[i] = w[i] * (1.0 - lr * wd) - lr * m_hat / (v_hat.sqrt() + eps);"
            => "w[i] -= lr * m_hat / (v_hat.sqrt() + eps);"),
        mutant!("5.6 por τ", "5.6", "cap05",
            "let scaled: Vec<f32> = logits.iter().map(|l| l / temperature).collect();"
            => "let scaled: Vec<f32> = logits.iter().map(|l| l * temperature).collect();"),
        mutant!("6.3 sin 1/√d_k", "6.3", "cap06",
            "scores[[i, j]] = q.row(i).dot(&k.row(j)) / (hs as f32).sqrt();"
            => "scores[[i, j]] = q.row(i).dot(&k.row(j));"),
        mutant!("7.3 sin dropout", "7.3", "cap07",
            "let weights = dropout(&layers::masked_softmax(&scores, mask)?, head.dropout, mode)?;"
            => "let weights = layers::masked_softmax(&scores, mask)?;"),
        mutant!("7.5 sin ReLU", "7.5", "cap07",
            "let wide = activation(&ffwd.up.forward(x)?, ffwd.activation)?;"
            => "let wide = ffwd.up.forward(x)?;"),
    ],
    &[
        mutant!("5.2 sin el máximo", "5.2", "cap05",
            "row.mapv_inplace(|z| (z - m).exp());" => "row.mapv_inplace(|z| z.exp());"),
        mutant!("6.2 índice −1", "6.2", "cap06",
            "row.iter().take(i + 1).copied().collect();" => "row.iter().take(i).copied().collect();"),
        mutant!("7.4 sin dropout", "7.4", "cap07", "        sa.dropout,\n" => "        0.0,\n"),
    ],
    &[mutant!("7.6 sin residual", "7.6", "cap07",
        "let x = x.add(&attended)?;" => "let x = attended;")],
    &[mutant!("7.7 sin posiciones", "7.7", "cap07",
        "let mut x = tokens.broadcast_add(&model.position_embedding_table.forward(&positions)?)?;"
        => "let mut x = tokens;")],
    &[
        mutant!("7.8 sin dropout", "7.8", "cap07",
            "let logits = gpt_forward(model, idx, mode)?;"
            => "let logits = gpt_forward(model, idx, &mut Mode::Eval)?;"),
        mutant!("7.11 índice −1", "7.11", "cap07",
            "let from = ids.len().saturating_sub(model.config.block_size);"
            => "let from = ids.len().saturating_sub(model.config.block_size - 1);"),
    ],
    &[
        mutant!("7.9 sin 1/eval_iters", "7.9", "cap07",
            "*mean = (total / eval_iters as f64) as f32;" => "*mean = total as f32;"),
        mutant!("7.11 la primera posición", "7.11", "cap07",
            ".i((0, context.len() - 1))?" => ".i((0, 0))?"),
    ],
    &[mutant!("7.10 sin dropout", "7.10", "cap07",
        "let loss = gpt_loss(model, &x, &y, &mut Mode::Train(&mut rng))?;"
        => "let loss = gpt_loss(model, &x, &y, &mut Mode::Eval)?;")],
];

/// Cada mutante hace fallar su ejercicio (por su propio calificador, no por una pieza de la
/// que depende). Imprime la tabla: mutante, ejercicio, veredicto y la primera línea del
/// diagnóstico.
#[test]
fn todos_los_mutantes_mueren() {
    let start = std::time::Instant::now();
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    for batch in MUTANTS {
        let mutations: Vec<Mutation> = batch.iter().map(|m| m.mutation).collect();
        let args: Vec<&str> = batch.iter().map(|m| m.exercise).collect();
        let mut distinct = args.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            args.len(),
            "dos mutantes del mismo ejercicio en {args:?}"
        );
        let g = grade(&mutations, &args, &[]);
        println!(
            "tanda {args:?}: compilar {:.1} s, calificar {:.1} s",
            g.build.as_secs_f64(),
            g.run.as_secs_f64()
        );
        for m in batch.iter() {
            let lines = report(&g.stdout, m.exercise);
            let verdict = if lines[0].contains("no superado") {
                "muere"
            } else if lines[0].contains("sin calificar") {
                "TANDA MAL HECHA (usa otro mutante)"
            } else {
                "SOBREVIVE"
            };
            if verdict != "muere" {
                bad.push(m.name);
            }
            let first = lines.get(1).map_or("", |l| l.trim());
            rows.push(format!(
                "{:<28} {:<5} {:<8} {}",
                m.name,
                m.exercise,
                verdict,
                first.chars().take(70).collect::<String>()
            ));
        }
    }
    println!(
        "{:<28} {:<5} {:<8} diagnóstico",
        "mutante", "ej.", "veredicto"
    );
    for r in &rows {
        println!("{r}");
    }
    println!(
        "{} mutantes en {} tandas, {:.0} s",
        rows.len(),
        MUTANTS.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(rows.len() >= 30, "solo {} mutantes", rows.len());
    assert!(
        bad.is_empty(),
        "mutantes que no mueren: {bad:?}\n{}",
        rows.join("\n")
    );
}

/// Con solo 7.5 sin hacer: 7.6 no se califica y dice que arregles 7.5; 7.7, que usa 7.6,
/// también; y la prueba final nombra solo 7.5.
const FFWD_UNDONE: &[Mutation] = &[Mutation {
    chapter: "cap07",
    original: "    let wide = activation(&ffwd.up.forward(x)?, ffwd.activation)?;\n    dropout(&ffwd.down.forward(&wide)?, ffwd.dropout, mode)",
    replacement: "    todo!(\"lineal, ReLU, lineal y dropout\")",
}];

#[test]
fn un_fallo_dice_por_donde_empezar() {
    let g = grade(FFWD_UNDONE, &["cap07"], &[]);
    assert_eq!(g.code, Some(1), "{}", show(&g));
    let text = report(&g.stdout, "7.6").join("\n");
    assert!(text.contains("sin calificar"), "{text}");
    assert!(
        text.contains("7.6 usa tu 7.5, que aún falla: arregla primero 7.5"),
        "{text}"
    );
    let text = report(&g.stdout, "7.7").join("\n");
    assert!(
        text.contains("7.7 usa tu 7.6, que usa tu 7.5, que aún falla: arregla primero 7.5"),
        "{text}"
    );
    let text = report(&g.stdout, "7.5").join("\n");
    assert!(
        text.contains("no superado") && text.contains("aún sin hacer"),
        "{text}"
    );
    // Lo que no depende de 7.5 se califica igual.
    assert!(
        report(&g.stdout, "7.4")[0].contains(": superado"),
        "{}",
        show(&g)
    );
    // Pedir solo 7.6 también lo dice (7.5 se califica por detrás).
    let g = grade(FFWD_UNDONE, &["7.6"], &[]);
    assert!(g.stdout.contains("arregla primero 7.5"), "{}", show(&g));
    assert!(!g.stdout.contains("Ejercicio 7.5 "), "{}", show(&g));
}

#[test]
fn la_prueba_final_nombra_solo_la_primera_pieza_que_falta() {
    let g = grade(
        FFWD_UNDONE,
        &["--entrenar", "gpt", "--preset", "diminuto"],
        &[],
    );
    assert_eq!(g.code, Some(1), "{}", show(&g));
    assert!(g.stdout.contains("la primera sin superar"), "{}", show(&g));
    let named: Vec<&str> = g
        .stdout
        .lines()
        .filter(|l| l.contains("Ejercicio "))
        .collect();
    assert_eq!(named.len(), 1, "{}", show(&g));
    assert!(named[0].contains("Ejercicio 7.5 "), "{}", show(&g));
    assert!(!g.stdout.contains("Entrenando"), "{}", show(&g));
}

/// La prueba final de punta a punta (issue 22), con las soluciones de referencia como
/// archivos del alumno: `--entrenar gpt --preset diminuto` interrumpido con Ctrl-C guarda y
/// sale con 130; `--reanudar` lo termina y su pérdida final es exactamente la cifra guardada
/// de la biblioteca (como si no se hubiera parado); `07_gpt generar` lee su punto de control,
/// y `cargo ejercicios --generar`, con las piezas del alumno, escribe el mismo texto con la
/// misma semilla y las mismas opciones (temperatura, top-k y top-p).
#[cfg(unix)]
#[test]
fn el_gpt_del_alumno_se_guarda_se_reanuda_y_escribe_como_la_biblioteca() {
    use std::process::Stdio;
    let root = mutantes::target_dir().join("mutantes");
    let dir = root.join("salidas/mi_gpt");
    let _ = std::fs::remove_dir_all(&dir);
    let datos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datos");
    let datos = datos.to_str().unwrap();
    let env = [("GPT_DESDE_CERO_DATOS", datos)];
    let train = ["--entrenar", "gpt", "--preset", "diminuto"];

    let (mut cmd, _) = mutantes::command(&[], &train, &env);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // El primer punto de control aparece tras la estimación del paso 0, ya con el manejador
    // de Ctrl-C puesto.
    let last = dir.join("gpt.safetensors");
    while !last.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "terminó antes de tiempo: {:?}",
            child.wait_with_output()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: enviar una señal a un proceso hijo nuestro.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("Interrumpido con Ctrl-C"), "{stdout}");
    assert!(stdout.contains("--entrenar gpt --reanudar"), "{stdout}");

    // Sin --reanudar ni --sobrescribir, no se pisa.
    let g = grade(&[], &train, &env);
    assert_eq!(g.code, Some(1), "{}", show(&g));
    assert!(
        g.stdout.contains("ya tiene un modelo entrenado"),
        "{}",
        show(&g)
    );

    let mut resume = train.to_vec();
    resume.push("--reanudar");
    let g = grade(&[], &resume, &env);
    assert_eq!(g.code, Some(0), "{}", show(&g));
    assert!(g.stdout.contains("Reanudando"), "{}", show(&g));
    assert!(
        g.stdout.contains("Entrenamiento completo: 100 pasos"),
        "{}",
        show(&g)
    );
    assert!(
        g.stdout.contains("Diferencia: 0,0000") && g.stdout.contains("¡Bien!"),
        "{}",
        show(&g)
    );

    let best = dir.join("gpt-mejor.safetensors");
    let best = best.to_str().unwrap();
    for options in [
        &["--semilla", "11", "--tokens", "200"][..],
        &[
            "--prompt",
            "En un lugar",
            "--temperatura",
            "0,8",
            "--top-k",
            "20",
            "--top-p",
            "0.9",
            "--semilla",
            "3",
            "--tokens",
            "150",
        ],
    ] {
        let mut args = vec!["generar", "--checkpoint", best];
        args.extend_from_slice(options);
        let library = std::process::Command::new(env!("CARGO_BIN_EXE_07_gpt"))
            .args(&args)
            .output()
            .unwrap();
        assert!(library.status.success(), "{library:?}");
        let library = String::from_utf8(library.stdout).unwrap();
        args[0] = "--generar";
        let g = grade(&[], &args, &env);
        assert_eq!(g.code, Some(0), "{}", show(&g));
        assert_eq!(g.stdout, library, "{options:?}");
        assert!(g.stderr.contains("con tus piezas"), "{}", show(&g));
    }
    // Sin --checkpoint, el mejor de salidas/mi_gpt/.
    let g = grade(&[], &["--generar", "--tokens", "30"], &env);
    assert_eq!(g.code, Some(0), "{}", show(&g));
    assert!(
        g.stderr.contains("salidas/mi_gpt/gpt-mejor.safetensors"),
        "{}",
        show(&g)
    );
}

/// `--generar` dice qué falta antes de empezar: la pieza sin superar que usaría (aquí, el
/// top-p de 7.13 devuelto a `todo!()`), solo si se pide; y sus opciones se validan (código 2).
#[test]
fn generar_dice_antes_de_empezar_la_pieza_que_falta() {
    let top_p_undone = [Mutation {
        chapter: "cap07",
        original: "    let mut sorted = logits.to_vec();\n    sorted.sort_by(|a, b| b.total_cmp(a));\n    let max = sorted[0];",
        replacement: "    todo!();\n    let mut sorted = logits.to_vec();\n    sorted.sort_by(|a, b| b.total_cmp(a));\n    let max = sorted[0];",
    }];
    let g = grade(&top_p_undone, &["--generar", "--top-p", "0,9"], &[]);
    assert_eq!(g.code, Some(1), "{}", show(&g));
    assert!(g.stdout.contains("la primera sin superar"), "{}", show(&g));
    let named: Vec<&str> = g
        .stdout
        .lines()
        .filter(|l| l.contains("Ejercicio "))
        .collect();
    assert_eq!(named.len(), 1, "{}", show(&g));
    assert!(named[0].contains("Ejercicio 7.13 "), "{}", show(&g));
    for bad in [
        &["--generar", "--top-p", "0"][..],
        &["--generar", "--top-p", "1,5"],
        &["--generar", "--temperatura", "0"],
        &["--generar", "bigram", "--top-k", "3"],
        &["--generar", "--tokens"],
        &["--generar", "--ancho", "ocho"],
        &["--entrenar", "gpt", "--reanudar", "--sobrescribir"],
    ] {
        let g = grade(&[], bad, &[]);
        assert_eq!(g.code, Some(2), "{bad:?}: {}", show(&g));
        assert!(g.stdout.starts_with("error: "), "{bad:?}: {}", show(&g));
    }
}

/// `--pista` da cada vez el siguiente nivel, y cada ejercicio tiene al menos dos; un fallo ya
/// no da la pista, solo cómo pedirla.
#[test]
fn las_pistas_van_por_niveles() {
    let hints = mutantes::target_dir().join("mutantes/pistas-niveles");
    let _ = std::fs::remove_file(&hints);
    let env = [("CALIFICAR_PISTAS", hints.to_str().unwrap())];
    let chapters = ["1", "2", "3", "4", "5", "6", "7"];
    let args: Vec<&str> = std::iter::once("--pista").chain(chapters).collect();
    let first = grade(&[], &args, &env);
    assert_eq!(first.code, Some(0), "{}", show(&first));
    let second = grade(&[], &args, &env);
    let count = |g: &Graded, what: &str| g.stdout.matches(what).count();
    let exercises = count(&first, "Ejercicio ");
    assert!(exercises >= 34, "{}", show(&first));
    // La primera vez, solo la idea de cada uno; la segunda, además el segundo nivel.
    assert_eq!(count(&first, "pista 1 de "), exercises, "{}", show(&first));
    assert_eq!(count(&first, "pista 2 de "), 0, "{}", show(&first));
    assert_eq!(
        count(&second, "pista 2 de "),
        exercises,
        "{}",
        show(&second)
    );
    for line in second.stdout.lines() {
        assert!(line.chars().count() <= 80, "más de 80 columnas: {line}");
    }
    // Un ejercicio, hasta agotar sus pistas.
    let third = grade(&[], &["--pista", "5.4"], &env);
    assert!(
        third.stdout.contains("pista 3 de 3, los pasos (nueva)"),
        "{}",
        show(&third)
    );
    let fourth = grade(&[], &["--pista", "5.4"], &env);
    assert!(
        fourth.stdout.contains("Ya tienes todas sus pistas"),
        "{}",
        show(&fourth)
    );
    // Sin decir de qué ejercicio, no da ninguna.
    let none = grade(&[], &["--pista"], &env);
    assert_eq!(none.code, Some(1), "{}", show(&none));
}

#[test]
fn un_fallo_no_da_la_pista_sino_como_pedirla() {
    let g = grade(&batch_of("5.4 <="), &["5.4"], &[]);
    let text = report(&g.stdout, "5.4").join("\n");
    assert!(
        text.contains("Pide una pista con: cargo ejercicios --pista 5.4"),
        "{text}"
    );
    assert!(!text.contains("pista:"), "{text}");
}
