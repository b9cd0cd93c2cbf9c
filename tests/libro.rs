//! Pruebas del libro (`book/`).
//!
//! mdBook tiene una trampa: un `{{#include archivo:ancla}}` cuya ancla no existe se
//! convierte en un texto vacío, sin aviso y con la construcción terminada «con éxito». Estas
//! pruebas lo impiden:
//!
//! - cada `{{#include ...}}` de cada página resuelve: el archivo existe, el ancla (o el rango
//!   de líneas) existe y el texto incluido no está vacío; las instantáneas de `insta` se
//!   incluyen sin su cabecera;
//! - cada capítulo del índice (`SUMMARY.md`) existe;
//! - los números de la prosa y de las tablas siguen la norma del libro (coma decimal, miles
//!   con espacio fino que no se parte a partir de cinco cifras, nunca coma de miles);
//! - `book.toml` compone las fórmulas al construir (nada de MathJax desde la red).
//!
//! La construcción de verdad, con el `mdbook` 0.5.4 fijado, y la prueba de cada página en
//! Chromium sin red están en `scripts/libro.sh comprobar`, que ejecuta la integración continua:
//! así `cargo test` no compila mdBook.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

/// La carpeta del libro.
fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book")
}

/// Las páginas Markdown del libro, ordenadas.
fn pages() -> Vec<PathBuf> {
    let src = book_dir().join("src");
    let mut pages: Vec<PathBuf> = fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("no se pudo leer la carpeta {}: {e}", src.display()))
        .map(|entry| entry.expect("entrada de la carpeta").path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    assert!(
        !pages.is_empty(),
        "el libro no tiene páginas en {}",
        src.display()
    );
    pages
}

/// Qué parte del archivo incluye una directiva, con la misma sintaxis que mdBook.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    /// Todo el archivo.
    All,
    /// Las líneas `start..end` (índices desde 0, `end` excluido; `None` hasta el final).
    Lines { start: usize, end: Option<usize> },
    /// Las líneas entre `ANCHOR: nombre` y `ANCHOR_END: nombre`.
    Anchor(String),
}

/// Una directiva `{{#include ...}}` de una página.
#[derive(Debug, Clone)]
struct Include {
    /// El texto de la directiva, tal como aparece en la página.
    directive: String,
    /// Línea de la página (desde 1).
    line: usize,
    /// Ruta del archivo, relativa a la página.
    path: String,
    selection: Selection,
}

/// Interpreta `archivo`, `archivo:ancla`, `archivo:N`, `archivo:N:`, `archivo:N:M` o
/// `archivo::M`, como `parse_range_or_anchor` de mdBook: `:N` sola es la línea N.
fn parse_target(target: &str) -> (String, Selection) {
    let (path, rest) = match target.split_once(':') {
        Some((path, rest)) => (path, Some(rest)),
        None => (target, None),
    };
    let Some(rest) = rest else {
        return (path.to_string(), Selection::All);
    };
    let mut parts = rest.splitn(3, ':');
    let first = parts.next().unwrap_or("");
    let start = if first.is_empty() {
        None
    } else if let Ok(n) = first.parse::<usize>() {
        Some(n.saturating_sub(1))
    } else {
        return (path.to_string(), Selection::Anchor(first.to_string()));
    };
    let end = parts.next().map(str::parse::<usize>);
    let selection = match (start, end) {
        (Some(start), Some(Ok(end))) => Selection::Lines {
            start,
            end: Some(end),
        },
        (Some(start), Some(Err(_))) => Selection::Lines { start, end: None },
        (Some(start), None) => Selection::Lines {
            start,
            end: Some(start + 1),
        },
        (None, Some(Ok(end))) => Selection::Lines {
            start: 0,
            end: Some(end),
        },
        (None, None) | (None, Some(Err(_))) => Selection::All,
    };
    (path.to_string(), selection)
}

/// Las directivas `{{#include ...}}` (y `{{#rustdoc_include ...}}`) de un texto Markdown.
/// Las escapadas con `\{{#...}}` no cuentan, igual que en mdBook.
fn includes(markdown: &str) -> Vec<Include> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = markdown[from..].find("{{") {
        let open = from + pos;
        from = open + 2;
        if open > 0 && markdown.as_bytes()[open - 1] == b'\\' {
            continue;
        }
        let Some(len) = markdown[open..].find("}}") else {
            break;
        };
        let inner = markdown[open + 2..open + len].trim_start();
        let Some(rest) = inner
            .strip_prefix("#include")
            .or_else(|| inner.strip_prefix("#rustdoc_include"))
        else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let Some(target) = rest.split_whitespace().next() else {
            continue;
        };
        let (path, selection) = parse_target(target);
        found.push(Include {
            directive: markdown[open..open + len + 2].to_string(),
            line: markdown[..open].matches('\n').count() + 1,
            path,
            selection,
        });
        from = open + len + 2;
    }
    found
}

/// El nombre de ancla que sigue a `marker` en una línea (`ANCHOR:` o `ANCHOR_END:`).
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line[line.find(marker)? + marker.len()..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// El texto que incluiría mdBook, o por qué no se puede incluir.
fn included_text(content: &str, selection: &Selection) -> Result<String, String> {
    match selection {
        Selection::All => Ok(content.to_string()),
        Selection::Lines { start, end } => {
            let total = content.lines().count();
            if *start >= total {
                return Err(format!(
                    "el rango empieza en la línea {} y el archivo solo tiene {total}",
                    start + 1
                ));
            }
            if let Some(end) = end
                && *end > total
            {
                return Err(format!(
                    "el rango termina en la línea {end} y el archivo solo tiene {total}"
                ));
            }
            let lines = content.lines().skip(*start);
            let taken: Vec<&str> = match end {
                Some(end) => lines.take(end.saturating_sub(*start)).collect(),
                None => lines.collect(),
            };
            Ok(taken.join("\n"))
        }
        Selection::Anchor(name) => {
            let starts = content
                .lines()
                .filter(|l| anchor_name(l, "ANCHOR:") == Some(name))
                .count();
            let ends = content
                .lines()
                .filter(|l| anchor_name(l, "ANCHOR_END:") == Some(name))
                .count();
            match (starts, ends) {
                (0, _) => return Err(format!("no existe la línea «ANCHOR: {name}»")),
                (_, 0) => return Err(format!("no existe la línea «ANCHOR_END: {name}»")),
                (1, 1) => {}
                _ => {
                    return Err(format!(
                        "el ancla «{name}» aparece más de una vez ({starts} inicios, {ends} finales)"
                    ));
                }
            }
            // Como mdBook: las líneas entre el inicio y el final, sin las de otras anclas.
            let mut inside = false;
            let mut kept = Vec::new();
            for line in content.lines() {
                if inside {
                    if anchor_name(line, "ANCHOR_END:") == Some(name) {
                        break;
                    }
                    if anchor_name(line, "ANCHOR:").is_none()
                        && anchor_name(line, "ANCHOR_END:").is_none()
                    {
                        kept.push(line);
                    }
                } else if anchor_name(line, "ANCHOR:") == Some(name) {
                    inside = true;
                }
            }
            if !inside {
                return Err(format!("el ancla «{name}» termina antes de empezar"));
            }
            Ok(kept.join("\n"))
        }
    }
}

/// Cuántas líneas ocupa la cabecera de una instantánea de `insta` (de `---` a `---`).
fn snapshot_header_lines(content: &str) -> Option<usize> {
    let mut lines = content.lines();
    if lines.next()? != "---" {
        return None;
    }
    lines.position(|l| l == "---").map(|i| i + 2)
}

/// Resuelve una directiva de la página `page`: el texto incluido o el motivo del fallo.
fn resolve(page: &Path, inc: &Include) -> Result<String, String> {
    let dir = page.parent().expect("la página está en una carpeta");
    let file = dir.join(&inc.path);
    let content = fs::read_to_string(&file)
        .map_err(|e| format!("no se pudo leer «{}»: {e}", file.display()))?;
    let text = included_text(&content, &inc.selection)?;
    if text.trim().is_empty() {
        return Err("el texto incluido está vacío".to_string());
    }
    if let Some(header) = snapshot_header_lines(&content) {
        // Una instantánea se incluye entera, sin su cabecera: un rango de líneas enseñaría
        // otras en silencio en cuanto la salida cambiase. Para mostrar solo una parte, la
        // prueba que hace la instantánea la parte en secciones con nombre (tests/comun).
        match inc.selection {
            Selection::Lines { start, end: None } if start == header => {}
            _ => {
                return Err(format!(
                    "una instantánea se incluye entera y sin cabecera: «{}:{}:»; para enseñar \
                     una parte, pártela en secciones en su prueba (comun::partir)",
                    inc.path,
                    header + 1
                ));
            }
        }
    }
    Ok(text)
}

fn relative(page: &Path) -> String {
    page.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(page)
        .display()
        .to_string()
}

#[test]
fn cada_include_del_libro_resuelve_a_un_texto_no_vacio() {
    let mut errors = String::new();
    let mut total = 0;
    for page in pages() {
        let markdown = fs::read_to_string(&page).expect("página legible");
        for inc in includes(&markdown) {
            total += 1;
            if let Err(why) = resolve(&page, &inc) {
                let _ = writeln!(
                    errors,
                    "  {}:{}: {}\n      {why}",
                    relative(&page),
                    inc.line,
                    inc.directive
                );
            }
        }
    }
    assert!(
        errors.is_empty(),
        "\nHay inclusiones del libro que no resuelven (mdBook las mostraría vacías sin avisar):\n{errors}"
    );
    assert!(total > 0, "el libro no incluye ningún archivo");
}

#[test]
fn el_analizador_de_includes_sigue_a_mdbook() {
    let md = "a {{#include ../x.rs:main}} b\n\\{{#include escapado.rs}}\n{{ #include y.snap:5: }}\n\
              {{#include z.txt:3}} {{#include w.txt}} {{#title T}}";
    let found: Vec<(String, Selection, usize)> = includes(md)
        .into_iter()
        .map(|i| (i.path, i.selection, i.line))
        .collect();
    assert_eq!(
        found,
        vec![
            ("../x.rs".into(), Selection::Anchor("main".into()), 1),
            (
                "y.snap".into(),
                Selection::Lines {
                    start: 4,
                    end: None
                },
                3
            ),
            (
                "z.txt".into(),
                Selection::Lines {
                    start: 2,
                    end: Some(3)
                },
                4
            ),
            ("w.txt".into(), Selection::All, 4),
        ]
    );
    assert_eq!(
        parse_target("s.snap:5:12").1,
        Selection::Lines {
            start: 4,
            end: Some(12)
        }
    );

    // Un ancla que falta es un error con nombre, no un texto vacío.
    let code = "x\n// ANCHOR: a\nuno\n// ANCHOR: b\ndos\n// ANCHOR_END: b\n// ANCHOR_END: a\n";
    assert_eq!(
        included_text(code, &Selection::Anchor("a".into())).unwrap(),
        "uno\ndos"
    );
    assert_eq!(
        included_text(code, &Selection::Anchor("b".into())).unwrap(),
        "dos"
    );
    let err = included_text(code, &Selection::Anchor("c".into())).unwrap_err();
    assert_eq!(err, "no existe la línea «ANCHOR: c»");
    let no_end = "// ANCHOR: d\nuno\n";
    let err = included_text(no_end, &Selection::Anchor("d".into())).unwrap_err();
    assert_eq!(err, "no existe la línea «ANCHOR_END: d»");
    // «ANCHOR: ab» no es el ancla «a».
    let prefix = "// ANCHOR: ab\nuno\n// ANCHOR_END: ab\n";
    assert!(included_text(prefix, &Selection::Anchor("a".into())).is_err());

    let snap = "---\nsource: t.rs\nexpression: out\n---\nhola\n";
    assert_eq!(snapshot_header_lines(snap), Some(4));
    assert_eq!(
        included_text(
            snap,
            &Selection::Lines {
                start: 4,
                end: None
            }
        )
        .unwrap(),
        "hola"
    );
    assert!(
        included_text(
            snap,
            &Selection::Lines {
                start: 9,
                end: None
            }
        )
        .is_err()
    );
}

/// Los archivos `.md` que enlaza el índice.
fn summary_links() -> Vec<String> {
    let summary = book_dir().join("src").join("SUMMARY.md");
    let text = fs::read_to_string(&summary)
        .unwrap_or_else(|e| panic!("no se pudo leer {}: {e}", summary.display()));
    let mut links = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(pos) = rest.find("](") {
            let after = &rest[pos + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].trim();
            if !target.is_empty() {
                links.push(target.to_string());
            }
            rest = &after[end..];
        }
    }
    links
}

#[test]
fn cada_capitulo_del_indice_existe() {
    let src = book_dir().join("src");
    let links = summary_links();
    assert!(
        links.len() >= 10,
        "el índice enlaza solo {} páginas: {links:?}",
        links.len()
    );
    let missing: Vec<&String> = links.iter().filter(|l| !src.join(l).is_file()).collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md enlaza páginas que no existen en book/src: {missing:?}"
    );
    for page in pages() {
        let name = page.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name == "SUMMARY.md" || links.contains(&name),
            "la página book/src/{name} no aparece en SUMMARY.md"
        );
    }
}

/// La prosa de un texto Markdown: sin bloques ni trozos de código, fórmulas, directivas,
/// etiquetas HTML ni destinos de enlaces. Es donde rige la norma de los números.
fn prose(markdown: &str) -> String {
    let mut text = String::new();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => {
                text.push_str(line);
                text.push('\n');
            }
            _ => {}
        }
    }
    let strip = [
        r"(?s)\\\\\(.*?\\\\\)",
        r"(?s)\\\\\[.*?\\\\\]",
        r"`[^`]*`",
        r"\{\{[^}]*\}\}",
        r"<[^>]*>",
        r"\]\([^)]*\)",
        // Los números de los ejercicios («Ejercicio 6.2») no son decimales.
        r"(?i)ejercicios?\s+\d+\.\d+(?:(?:,|\s+y|\s+a)\s+\d+\.\d+)*",
    ];
    for pattern in strip {
        text = Regex::new(pattern)
            .unwrap()
            .replace_all(&text, " ")
            .into_owned();
    }
    text
}

/// Los números de `prose` que se salen de la norma del libro, con el motivo.
fn number_problems(prose: &str) -> Vec<String> {
    let checks = [
        (
            r"\b\d{1,3}(?:,\d{3})+\.\d+\b",
            "coma de miles y punto decimal",
        ),
        (r"\b\d+\.\d+\b", "punto decimal (el libro usa coma)"),
        (
            r"\b\d{1,3}(?:[ \u{a0}\u{2009}]\d{3})+\b",
            "miles con un espacio que no es el fino (U+202F)",
        ),
        (r"\d{5,}", "cinco cifras o más sin espacio fino"),
    ];
    let mut found = Vec::new();
    for (pattern, why) in checks {
        for m in Regex::new(pattern).unwrap().find_iter(prose) {
            found.push(format!("«{}»: {why}", m.as_str()));
        }
    }
    // Cuatro cifras van juntas: «1 078» con espacio fino, no.
    let four = Regex::new(r"(\d+)\u{202f}\d{3}\b").unwrap();
    for c in four.captures_iter(prose) {
        let start = c.get(0).unwrap().start();
        let before = prose[..start].chars().next_back();
        if c[1].len() == 1 && !before.is_some_and(|ch| ch.is_ascii_digit() || ch == '\u{202f}') {
            let after = &prose[c.get(0).unwrap().end()..];
            if !after.starts_with('\u{202f}') {
                found.push(format!(
                    "«{}»: cuatro cifras con espacio fino (la norma lo pide desde cinco)",
                    &c[0]
                ));
            }
        }
    }
    // «1,188 pasos/s»: una coma seguida de tres cifras y una unidad es una coma de miles.
    let comma =
        Regex::new(r"\b\d{1,3},\d{3}\s?(?:pasos|car|caracteres|MiB|GB|MB|tokens)\b").unwrap();
    for m in comma.find_iter(prose) {
        found.push(format!("«{}»: coma de miles", m.as_str()));
    }
    found
}

#[test]
fn la_norma_de_los_numeros_pilla_lo_que_debe() {
    assert!(number_problems("dura 2,2336 y luego 1\u{202f}038\u{202f}397 y 4000 pasos").is_empty());
    assert!(!number_problems("fórmula \\\\( 0.5 \\\\) y `1.0`").is_empty());
    assert!(number_problems(&prose("fórmula \\\\( 0.5 \\\\) y `1.0` y Ejercicio 6.2")).is_empty());
    for bad in [
        "1,188 pasos/s",
        "1,078.0",
        "vale 2.3981",
        "1 060 259",
        "1\u{a0}060\u{a0}259",
        "25817 parámetros",
        "1\u{202f}078",
    ] {
        assert!(!number_problems(bad).is_empty(), "no pilla «{bad}»");
    }
}

#[test]
fn los_numeros_del_libro_siguen_la_norma() {
    let mut files = pages();
    let tables = book_dir().join("src").join("tablas");
    for entry in fs::read_dir(&tables).expect("book/src/tablas") {
        files.push(entry.expect("entrada").path());
    }
    let mut errors = String::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("página legible");
        for (n, line) in prose(&text).lines().enumerate() {
            for p in number_problems(line) {
                let _ = writeln!(
                    errors,
                    "  {} (línea de prosa {}): {p}",
                    relative(&file),
                    n + 1
                );
            }
        }
    }
    assert!(
        errors.is_empty(),
        "\nNúmeros fuera de la norma del libro (coma decimal; miles con U+202F desde cinco cifras):\n{errors}"
    );
}

#[test]
fn las_formulas_se_componen_al_construir_sin_red() {
    let toml = fs::read_to_string(book_dir().join("book.toml")).expect("book.toml");
    assert!(
        !toml.contains("mathjax-support"),
        "book.toml activa MathJax, que mdBook carga desde la red"
    );
    assert!(
        toml.contains("[preprocessor.formulas]")
            && toml.contains("../scripts/libro/preprocesador.mjs"),
        "book.toml no declara el preprocesador que compone las fórmulas"
    );
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/libro/package-lock.json");
    let lock = fs::read_to_string(&lock).expect("scripts/libro/package-lock.json");
    assert!(
        lock.contains("\"node_modules/katex\""),
        "KaTeX no está fijado en package-lock.json"
    );
}

/// Los ejercicios de cada capítulo según sus esbozos (`ejercicios/capNN_*.rs`):
/// `(obligatorios, opcionales)`.
fn exercise_counts() -> Vec<(usize, usize)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ejercicios");
    (1..=7)
        .map(|n| {
            let file = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .and_then(|f| f.to_str())
                        .is_some_and(|f| f.starts_with(&format!("cap{n:02}_")))
                })
                .unwrap_or_else(|| panic!("falta el esbozo del capítulo {n}"));
            let text = std::fs::read_to_string(file).unwrap();
            let headers: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("/// **Ejercicio "))
                .collect();
            let optional = headers.iter().filter(|l| l.contains("(más allá)")).count();
            (headers.len() - optional, optional)
        })
        .collect()
}

/// Lo que el libro dice del progreso («Resultado: 10 de 31 ejercicios superados») coincide
/// con los ejercicios que hay: o es el resultado del capítulo solo, o el de `cargo
/// ejercicios` a secas con todo lo anterior superado.
#[test]
fn el_progreso_que_cuenta_el_libro_es_el_de_los_ejercicios() {
    let counts = exercise_counts();
    let required: usize = counts.iter().map(|c| c.0).sum();
    let optional: usize = counts.iter().map(|c| c.1).sum();
    let result = Regex::new(r"Resultado: (\d+) de (\d+) ejercicios superados").unwrap();
    let extra = Regex::new(r"\(y (\d+) de (\d+) «más allá»").unwrap();
    let mut claims = 0;
    for page in pages().iter().filter(|p| relative(p).contains("/cap0")) {
        let name = relative(page);
        let n: usize = name.split("/cap0").nth(1).unwrap()[..1].parse().unwrap();
        let text = fs::read_to_string(page).unwrap();
        // Un capítulo sin esbozo de ejercicios (el 8 usa el programa del 7) no tiene
        // ejercicios propios: solo puede citar el resultado de `cargo ejercicios` a secas.
        let own = counts.get(n - 1).map_or(0, |c| c.0);
        let so_far: usize = counts[..n.min(counts.len())].iter().map(|c| c.0).sum();
        for c in result.captures_iter(&text) {
            let (x, y): (usize, usize) = (c[1].parse().unwrap(), c[2].parse().unwrap());
            claims += 1;
            let chapter_only = y == own && x <= own;
            let whole = y == required && x == so_far;
            assert!(
                chapter_only || whole,
                "{name}: «{}» no cuadra: el capítulo tiene {own} ejercicios obligatorios y, con \
                 todo lo anterior superado, `cargo ejercicios` diría {so_far} de {required}",
                &c[0]
            );
        }
        for c in extra.captures_iter(&text) {
            assert_eq!(
                c[2].parse::<usize>().unwrap(),
                optional,
                "{name}: «{}»",
                &c[0]
            );
            let optional_so_far: usize = counts[..n.min(counts.len())].iter().map(|c| c.1).sum();
            assert!(
                c[1].parse::<usize>().unwrap() <= optional_so_far,
                "{name}: «{}»",
                &c[0]
            );
        }
    }
    assert!(
        claims >= 4,
        "el libro cuenta el progreso en al menos cuatro sitios"
    );
}

/// Las salidas del calificador que enseña el libro son las de verdad: un fallo no imprime la
/// pista (eso es de `--pista`, por niveles), sino cómo pedirla para ese mismo ejercicio, con
/// la frase que escribe el calificador.
#[test]
fn las_salidas_del_calificador_del_libro_dicen_como_pedir_la_pista() {
    let grader = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/calificadores/mod.rs"),
    )
    .unwrap();
    let phrase = "Pide una pista con: cargo ejercicios --pista ";
    assert!(
        grader.contains(phrase),
        "el calificador ya no dice «{phrase}»"
    );
    let failed = Regex::new(r"^  ✘ Ejercicio (\d+\.\d+) ").unwrap();
    let mut seen = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            assert!(
                !line.starts_with("      pista: "),
                "{}: una salida del calificador con la pista entera: {line}",
                relative(&page)
            );
            let Some(c) = failed.captures(line) else {
                continue;
            };
            let want = format!("      {phrase}{}", &c[1]);
            let block = lines[i + 1..]
                .iter()
                .take_while(|l| l.starts_with("      "));
            assert!(
                block.clone().any(|l| *l == want),
                "{}: tras «{line}» falta «{}»",
                relative(&page),
                want.trim()
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "el libro enseña solo {seen} fallos del calificador"
    );
}

// --- Los listados son elementos completos ---------------------------------------------------

/// Un signo de apertura o de cierre del código: llave, corchete o paréntesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delim {
    Brace,
    Bracket,
    Paren,
}

impl Delim {
    fn open(self) -> char {
        match self {
            Delim::Brace => '{',
            Delim::Bracket => '[',
            Delim::Paren => '(',
        }
    }
    fn close(self) -> char {
        match self {
            Delim::Brace => '}',
            Delim::Bracket => ']',
            Delim::Paren => ')',
        }
    }
}

/// Un trozo de código Rust, tal como lo ve el analizador mínimo de abajo.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open(Delim),
    Close(Delim),
    /// Un identificador, una palabra clave o un número.
    Word(String),
    Semi,
}

/// Los trozos de un archivo Rust con su línea (desde 1), sin comentarios ni literales (las
/// cadenas, las cadenas en crudo y los caracteres no cuentan; las vidas `'a` tampoco). No es
/// un analizador de Rust: basta para contar llaves, corchetes y paréntesis.
fn rust_tokens(code: &str) -> Vec<(usize, Tok)> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Avanza hasta `end` contando los saltos de línea.
    let skip_to = |i: &mut usize, end: usize, line: &mut usize| {
        let end = end.min(chars.len());
        *line += chars[*i..end].iter().filter(|&&c| c == '\n').count();
        *i = end;
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                // Los comentarios de bloque de Rust se anidan.
                let (mut depth, mut j) = (0usize, i);
                while j < chars.len() {
                    if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                        depth += 1;
                        j += 2;
                    } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                skip_to(&mut i, j, &mut line);
            }
            '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                skip_to(&mut i, j + 1, &mut line);
            }
            '\'' => {
                if next == Some('\\') {
                    // '\n', '\'', '\u{7b}'…
                    let mut j = i + 2;
                    while j < chars.len() && chars[j] != '\'' {
                        j += if chars[j] == '\\' { 2 } else { 1 };
                    }
                    skip_to(&mut i, j + 1, &mut line);
                } else if chars.get(i + 2) == Some(&'\'') {
                    // 'x'
                    let end = i + 3;
                    skip_to(&mut i, end, &mut line);
                } else {
                    // Una vida o una etiqueta: 'a, 'static, '_.
                    i += 1;
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // Cadenas en crudo: r"…", r#"…"#, br"…", cr"…".
                let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
                if raw_prefix && matches!(chars.get(i), Some('"' | '#')) {
                    let mut j = i;
                    while chars.get(j) == Some(&'#') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'"') {
                        let hashes = j - i;
                        let closing: Vec<char> = std::iter::once('"')
                            .chain("#".repeat(hashes).chars())
                            .collect();
                        let mut k = j + 1;
                        while k < chars.len() && !chars[k..].starts_with(&closing) {
                            k += 1;
                        }
                        skip_to(&mut i, k + closing.len(), &mut line);
                        continue;
                    }
                }
                tokens.push((line, Tok::Word(word)));
            }
            _ => {
                let tok = match c {
                    '{' => Some(Tok::Open(Delim::Brace)),
                    '[' => Some(Tok::Open(Delim::Bracket)),
                    '(' => Some(Tok::Open(Delim::Paren)),
                    '}' => Some(Tok::Close(Delim::Brace)),
                    ']' => Some(Tok::Close(Delim::Bracket)),
                    ')' => Some(Tok::Close(Delim::Paren)),
                    ';' => Some(Tok::Semi),
                    _ => None,
                };
                if let Some(tok) = tok {
                    tokens.push((line, tok));
                }
                i += 1;
            }
        }
    }
    tokens
}

/// Qué abre una llave: un contenedor de elementos (`impl`, `trait`, `mod`, `extern`), el
/// cuerpo de una función (con su nombre) u otra cosa (un `struct`, un `match`, un bloque…).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Items,
    Fn(String),
    Other,
}

/// Por qué el texto entre las líneas `first` y `last` (desde 1, incluidas) de un archivo Rust
/// no es una sucesión de elementos completos, o `None` si lo es. Un listado es completo si:
///
/// - sus llaves, corchetes y paréntesis se cierran dentro de él, cada uno con el suyo;
/// - empieza donde empiezan los elementos: fuera de todo, o dentro de un `impl`, un `trait` o
///   un `mod`, no a mitad de una función ni de un `struct`.
///
/// La única excepción son los programas de los capítulos (`chapter_program`): su `main` narra
/// el capítulo en celdas, como el cuaderno, y una celda de `main` es un listado completo.
fn fragment_problem(
    code: &str,
    first: usize,
    last: usize,
    chapter_program: bool,
) -> Option<String> {
    let tokens = rust_tokens(code);
    // Lo que está abierto al empezar el listado, con qué abre cada llave.
    let mut open: Vec<(Delim, Block)> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    for (line, tok) in tokens.iter().filter(|(l, _)| *l < first) {
        let at_block_level = open.last().is_none_or(|(d, _)| *d == Delim::Brace);
        match tok {
            Tok::Word(w) if at_block_level => header.push(w.clone()),
            Tok::Word(_) => {}
            Tok::Semi if at_block_level => header.clear(),
            Tok::Semi => {}
            Tok::Open(Delim::Brace) => {
                let block = if let Some(pos) = header.iter().position(|w| w == "fn") {
                    Block::Fn(header.get(pos + 1).cloned().unwrap_or_default())
                } else {
                    let first_word = header
                        .iter()
                        .find(|w| !matches!(w.as_str(), "pub" | "crate" | "unsafe"));
                    match first_word.map(String::as_str) {
                        Some("impl" | "trait" | "mod" | "extern") => Block::Items,
                        _ => Block::Other,
                    }
                };
                open.push((Delim::Brace, block));
                header.clear();
            }
            Tok::Open(d) => open.push((*d, Block::Other)),
            Tok::Close(d) => {
                if open.pop().map(|(o, _)| o) != Some(*d) {
                    return Some(format!(
                        "el archivo no está equilibrado antes del listado: «{}» en la línea {line}",
                        d.close()
                    ));
                }
                if *d == Delim::Brace {
                    header.clear();
                }
            }
        }
    }
    let starts_well = match open.last() {
        None | Some((Delim::Brace, Block::Items)) => true,
        Some((Delim::Brace, _)) => {
            let innermost_fn = open.iter().rev().find_map(|(_, b)| match b {
                Block::Fn(name) => Some(name.as_str()),
                _ => None,
            });
            chapter_program && innermost_fn == Some("main")
        }
        Some(_) => false,
    };
    if !starts_well {
        let inside = open
            .iter()
            .rev()
            .find_map(|(_, b)| match b {
                Block::Fn(name) => Some(format!("la función «{name}»")),
                _ => None,
            })
            .unwrap_or_else(|| "un bloque que no es un impl, un trait ni un mod".to_string());
        return Some(format!(
            "empieza a mitad de {inside}: un listado enseña elementos enteros (funciones, \
             tipos, impl completos)"
        ));
    }
    // Dentro del listado, cada signo se cierra con el suyo y nada queda abierto.
    let mut inside: Vec<(Delim, usize)> = Vec::new();
    for (line, tok) in tokens.iter().filter(|(l, _)| (first..=last).contains(l)) {
        match tok {
            Tok::Open(d) => inside.push((*d, *line)),
            Tok::Close(d) => match inside.pop() {
                Some((o, _)) if o == *d => {}
                Some((o, l)) => {
                    return Some(format!(
                        "«{}» de la línea {l} se cierra con «{}» en la línea {line}",
                        o.open(),
                        d.close()
                    ));
                }
                None => {
                    return Some(format!(
                        "«{}» en la línea {line} cierra algo que se abrió antes del listado",
                        d.close()
                    ));
                }
            },
            _ => {}
        }
    }
    if let Some((d, l)) = inside.last() {
        return Some(format!(
            "«{}» de la línea {l} no se cierra dentro del listado",
            d.open()
        ));
    }
    None
}

/// Las líneas (desde 1) de la primera y la última línea del ancla `name`, sin sus marcas.
fn anchor_lines(content: &str, name: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = content.lines().collect();
    let start = lines
        .iter()
        .position(|l| anchor_name(l, "ANCHOR:") == Some(name))?;
    let end = lines
        .iter()
        .position(|l| anchor_name(l, "ANCHOR_END:") == Some(name))?;
    Some((start + 2, end))
}

/// Ningún listado de código del libro es un fragmento: cada `{{#include archivo.rs:ancla}}`
/// abarca elementos completos, con sus llaves, corchetes y paréntesis equilibrados.
#[test]
fn ningun_listado_es_un_fragmento() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut errors = String::new();
    let mut checked = 0;
    for page in pages() {
        let markdown = fs::read_to_string(&page).expect("página legible");
        for inc in includes(&markdown) {
            let Selection::Anchor(name) = &inc.selection else {
                continue;
            };
            if !inc.path.ends_with(".rs") {
                continue;
            }
            let file = page.parent().unwrap().join(&inc.path);
            let Ok(content) = fs::read_to_string(&file) else {
                continue; // cada_include_del_libro_resuelve_a_un_texto_no_vacio lo dice
            };
            let Some((first, last)) = anchor_lines(&content, name) else {
                continue;
            };
            let shown = file
                .canonicalize()
                .ok()
                .and_then(|f| {
                    f.strip_prefix(root.canonicalize().ok()?)
                        .ok()
                        .map(Path::to_path_buf)
                })
                .unwrap_or_else(|| file.clone());
            let chapter_program = shown.starts_with("chapters");
            checked += 1;
            if let Some(why) = fragment_problem(&content, first, last, chapter_program) {
                let _ = writeln!(
                    errors,
                    "  {}:{}: {}:{name}\n      {why}",
                    relative(&page),
                    inc.line,
                    shown.display()
                );
            }
        }
    }
    assert!(
        errors.is_empty(),
        "\nHay listados del libro que son fragmentos (mueve las líneas ANCHOR para que abarquen \
         elementos completos):\n{errors}"
    );
    assert!(checked >= 30, "solo se comprobaron {checked} listados");
}

#[test]
fn el_detector_de_fragmentos_pilla_lo_que_debe() {
    let whole = |code: &str| fragment_problem(code, 1, code.lines().count(), false);
    // Completos: las llaves de las cadenas, los caracteres y los comentarios no cuentan.
    for ok in [
        "fn f() -> &'static str {\n    \"}{\"\n}\n",
        "fn f() {\n    let c = '{';\n    let d = '\\'';\n    // }\n    /* { /* } */ } */\n}\n",
        "fn f<'a>(x: &'a [u8]) -> char {\n    let _ = r#\"\"}\"#;\n    let _ = b'[';\n    ']'\n}\n",
        "struct S {\n    a: [u8; 3],\n}\nimpl S {\n    fn g(&self) {}\n}\n",
    ] {
        assert_eq!(whole(ok), None, "{ok}");
    }
    // Fragmentos.
    for bad in [
        "impl S {\n    fn g(&self) {}\n",
        "    fn g(&self) {}\n}\n",
        "fn f() {\n    g(1, [2, 3)];\n}\n",
        "fn f() {\n    \"}\"\n",
    ] {
        assert!(whole(bad).is_some(), "no pilla:\n{bad}");
    }
    // Un método de un impl es un elemento completo; unas líneas de una función, no, salvo
    // que sean una celda del `main` de un programa de capítulo.
    let code = "impl S {\n    fn g(&self) {\n        let x = 1;\n        h(x);\n    }\n}\n\
                fn main() {\n    run(|| {\n        let y = 2;\n    });\n}\n";
    assert_eq!(fragment_problem(code, 2, 5, false), None);
    let err = fragment_problem(code, 3, 4, false).unwrap();
    assert!(err.contains("«g»"), "{err}");
    assert!(fragment_problem(code, 9, 9, false).is_some());
    assert_eq!(fragment_problem(code, 9, 9, true), None);
    assert!(fragment_problem(code, 3, 4, true).is_some());
}

// --- Sin `--release` y sin soluciones anidadas ---------------------------------------------

/// Las líneas de `text` con una orden de `cargo` que lleva `--release`, salvo las de CUDA.
///
/// El perfil de desarrollo del proyecto ya optimiza, y `--release` compila otra vez todas las
/// dependencias (unos cinco minutos en una máquina nueva): ninguna orden del libro ni del
/// README lo lleva. La única excepción posible es una orden de CUDA que de verdad lo
/// necesitara; se marca con la palabra «cuda» (`--features cuda`) en la misma línea, y el
/// texto de al lado debe decir por qué. La prosa puede nombrar `--release` para decir que no
/// hace falta: solo cuenta una orden (`cargo run`, `cargo build`…) que lo lleve.
fn release_commands(text: &str) -> Vec<(usize, String)> {
    let command = Regex::new(
        r"\bcargo\s+(?:\+\S+\s+)?(?:run|build|test|bench|check|install|ejercicios)\b[^`\n]*--release\b",
    )
    .unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| command.is_match(line) && !line.to_lowercase().contains("cuda"))
        .map(|(n, line)| (n + 1, line.trim().to_string()))
        .collect()
}

#[test]
fn el_detector_de_release_pilla_lo_que_debe() {
    for bad in [
        "cargo run --release --bin 07_gpt -- entrenar",
        "$ cargo run --release --bin 07_gpt -- generar \\",
        "usa `cargo run -q --release --bin 05_bigram` para ir rápido",
        "cargo build --release",
    ] {
        assert_eq!(release_commands(bad).len(), 1, "no pilla «{bad}»");
    }
    for good in [
        "cargo run --bin 07_gpt -- entrenar",
        "No hace falta `--release`: el perfil de desarrollo ya optimiza.",
        "Con `--release`, `cargo` compilaría otra vez todas las dependencias.",
        "cargo run --release --features cuda --bin 07_gpt -- entrenar",
    ] {
        assert!(release_commands(good).is_empty(), "pilla «{good}»");
    }
}

#[test]
fn ninguna_orden_del_libro_ni_del_readme_lleva_release() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = pages();
    files.push(root.join("README.md"));
    for dir in [
        book_dir().join("src").join("tablas"),
        root.join("tests").join("snapshots"),
    ] {
        for entry in fs::read_dir(&dir).expect("carpeta legible") {
            files.push(entry.expect("entrada").path());
        }
    }
    let mut errors = String::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for (n, line) in release_commands(&text) {
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            let _ = writeln!(errors, "  {shown}:{n}: {line}");
        }
    }
    assert!(
        errors.is_empty(),
        "\nÓrdenes con `--release` (el perfil de desarrollo ya optimiza, y `--release` \
         recompila todas las dependencias; solo una orden de CUDA que lo necesite, con la \
         razón al lado, puede llevarlo):\n{errors}"
    );
}

/// Los problemas de anidamiento de `<details>` de una página: uno abierto dentro de otro, un
/// cierre sin apertura o uno que no se cierra. No cuenta lo que está en bloques de código.
fn details_problems(markdown: &str) -> Vec<String> {
    let open = Regex::new(r"<details[\s>]").unwrap();
    let mut problems = Vec::new();
    let mut depth = 0usize;
    let mut opened_at = 0;
    let mut fence: Option<&str> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(m) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            match fence {
                None => fence = Some(m),
                Some(f) if f == m => fence = None,
                _ => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        for _ in open.find_iter(line) {
            if depth > 0 {
                problems.push(format!(
                    "línea {}: un <details> dentro del abierto en la línea {opened_at}",
                    n + 1
                ));
            } else {
                opened_at = n + 1;
            }
            depth += 1;
        }
        for _ in line.matches("</details>") {
            if depth == 0 {
                problems.push(format!("línea {}: </details> sin <details>", n + 1));
            } else {
                depth -= 1;
            }
        }
    }
    if depth > 0 {
        problems.push(format!("el <details> de la línea {opened_at} no se cierra"));
    }
    problems
}

#[test]
fn el_detector_de_details_anidados_pilla_lo_que_debe() {
    let flat = "<details class=\"solucion\">\n<summary>a</summary>\n\n```rust\n<details>\n```\n\n\
                </details>\n\ntexto\n\n<details>\nb\n</details>\n";
    assert!(
        details_problems(flat).is_empty(),
        "{:?}",
        details_problems(flat)
    );
    let nested = "<details>\n<summary>a</summary>\n<details class=\"solucion\">\nb\n</details>\n\
                  </details>\n";
    assert_eq!(
        details_problems(nested).len(),
        1,
        "{:?}",
        details_problems(nested)
    );
    assert_eq!(details_problems("<details>\na\n").len(), 1);
    assert_eq!(details_problems("a\n</details>\n").len(), 1);
}

#[test]
fn ningun_details_va_dentro_de_otro() {
    let mut errors = String::new();
    for page in pages() {
        let text = fs::read_to_string(&page).expect("página legible");
        for problem in details_problems(&text) {
            let _ = writeln!(errors, "  {}: {problem}", relative(&page));
        }
    }
    assert!(
        errors.is_empty(),
        "\nSoluciones plegadas mal anidadas (cada <details> se cierra antes de abrir otro):\n{errors}"
    );
}

// --- El libro como libro de texto (issue 23) ------------------------------------------------

/// Las páginas que el índice numera como capítulos (las de la lista, no las de antes ni las de
/// después), con su número: `cap01_datos.md` es el 1, `rendimiento.md` el 9… Una sección
/// sangrada bajo un capítulo (`cap05_entrenar.md`, bajo `cap05_bigram.md`) es parte de él y
/// lleva su número.
fn numbered_chapters() -> Vec<(PathBuf, usize)> {
    let summary = book_dir().join("src").join("SUMMARY.md");
    let text = fs::read_to_string(&summary).expect("SUMMARY.md");
    let item = Regex::new(r"^(\s*)- \[[^\]]*\]\(([^)]+)\)").unwrap();
    let mut number = 0;
    text.lines()
        .filter_map(|l| item.captures(l))
        .map(|c| {
            if c[1].is_empty() {
                number += 1;
            }
            (book_dir().join("src").join(&c[2]), number.max(1))
        })
        .collect()
}

/// Los capítulos que llevan «Resumen», «Preguntas para pensar» y listados numerados: los del 1
/// al 8 y Rendimiento. El cierre, un epílogo sin listados, lleva también su resumen y sus
/// preguntas (lo comprueba `cada_capitulo_termina_con_resumen_y_preguntas`).
fn textbook_chapters() -> Vec<(PathBuf, usize)> {
    numbered_chapters()
        .into_iter()
        .filter(|(p, _)| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("cap") || name == "rendimiento.md"
        })
        .collect()
}

/// Palabras que el libro ya no usa en la prosa, con la que las sustituye. La prosa es la de
/// `prose`: sin código, fórmulas, directivas, etiquetas ni destinos de enlaces (los nombres de
/// programas y opciones, como `05_bigram` o `--preset`, van entre comillas de código).
const BANNED: &[(&str, &str)] = &[
    (
        r"(?i)\bbigram\b",
        "en castellano es «bigrama» (el programa `05_bigram`, entre comillas de código)",
    ),
    (r"(?i)\bpequena\b", "«pequeña», con eñe"),
    (r"(?i)\barreglos?\b", "«matriz» o «vector»"),
    (r"(?i)\bperillas?\b", "«parámetros que se ajustan a mano»"),
    (
        r"(?i)\bse fuerza a disco\b",
        "«se escribe en el disco (fsync)»",
    ),
    (
        r"(?i)\bde la de la\b",
        "di de qué: «de la pérdida de la biblioteca»",
    ),
    (
        r"(?i)\bpresets?\b",
        "«configuración» (en inglés, *preset*, solo en cursiva)",
    ),
    (
        r"(?i)\bcheckpoints?\b",
        "«punto de control» (*checkpoint*, en cursiva, solo la primera vez)",
    ),
    (
        r"\bhs\b|\bh_s\b",
        "el tamaño de la cabeza es d_k (hs solo en el código)",
    ),
    (
        r"(?i)(?:^|[^*\p{L}])dropout(?:[^*\p{L}]|$)",
        "*dropout* va siempre en cursiva",
    ),
];

/// Los términos prohibidos de `prose`, con la alternativa. No cuentan los nombres en inglés en
/// cursiva (`*preset*`, `*checkpoint*`, `*bigram*`) ni las rutas de archivos
/// (`src/model/bigram.rs`, en los pies de los listados).
fn vocabulary_problems(prose: &str) -> Vec<String> {
    let italic_english = Regex::new(r"\*(?:presets?|checkpoints?|bigrams?)\*").unwrap();
    let paths = Regex::new(r"[\w./-]+\.(?:rs|md|svg|snap|py|sh|txt|csv|json)\b").unwrap();
    let prose = italic_english.replace_all(prose, " ");
    let prose = paths.replace_all(&prose, " ");
    let mut found = Vec::new();
    for (pattern, instead) in BANNED {
        for m in Regex::new(pattern).unwrap().find_iter(&prose) {
            found.push(format!("«{}»: {instead}", m.as_str().trim()));
        }
    }
    found
}

#[test]
fn el_detector_de_vocabulario_pilla_lo_que_debe() {
    for bad in [
        "El modelo bigram es una tabla.",
        "entrena **tu** bigram",
        "la configuración pequena",
        "un arreglo de números",
        "Dos perillas cambian el sorteo",
        "se fuerza a disco y se renombra",
        "a menos de 0,03 de la de la biblioteca",
        "el preset `cpu`",
        "guarda el checkpoint",
        "con hs = 16",
        "sin dropout.",
        "## Dropout",
    ] {
        assert!(!vocabulary_problems(bad).is_empty(), "no pilla «{bad}»");
    }
    for good in [
        "El modelo bigrama es una tabla, y `05_bigram` lo entrena.",
        "configuraciones predefinidas (en inglés, *presets*)",
        "punto de control (*checkpoint*: el archivo…)",
        "con *dropout* 0,2; ## *Dropout*",
        "un vector o una matriz",
        "Listado 5-6: agrupado (src/model/bigram.rs)",
        "- **bigrama** (*bigram*): el modelo",
    ] {
        let p = prose(good);
        assert!(
            vocabulary_problems(&p).is_empty(),
            "pilla «{good}»: {:?}",
            vocabulary_problems(&p)
        );
    }
}

#[test]
fn el_libro_usa_un_solo_vocabulario() {
    let mut errors = String::new();
    let mut checkpoint_in_italics = Vec::new();
    for page in pages() {
        let text = fs::read_to_string(&page).expect("página legible");
        let prose = prose(&text);
        for (n, line) in prose.lines().enumerate() {
            for p in vocabulary_problems(line) {
                let _ = writeln!(
                    errors,
                    "  {} (línea de prosa {}): {p}",
                    relative(&page),
                    n + 1
                );
            }
        }
        let name = page.file_name().unwrap().to_string_lossy().to_string();
        if name != "glosario.md" {
            for _ in prose.matches("*checkpoint*") {
                checkpoint_in_italics.push(relative(&page));
            }
        }
    }
    assert!(
        errors.is_empty(),
        "\nPalabras que el libro ya no usa (un término por concepto, en castellano neutro):\n{errors}"
    );
    assert!(
        checkpoint_in_italics.len() <= 1,
        "*checkpoint* aparece más de una vez fuera del glosario (solo en su primer uso): \
         {checkpoint_in_italics:?}"
    );
    // Las tablas guardadas: las cabeceras dicen «este proyecto» y los nombres llevan eñe.
    let tables = book_dir().join("src").join("tablas");
    let stale = Regex::new(r"(?i)\bpequena\b|\beste ms/paso|/ este\s*\||\|\s*este,|memoria este\b")
        .unwrap();
    for entry in fs::read_dir(&tables).expect("book/src/tablas") {
        let path = entry.expect("entrada").path();
        let text = fs::read_to_string(&path).expect("tabla legible");
        for m in stale.find_iter(&text) {
            let _ = writeln!(errors, "  {}: «{}»", relative(&path), m.as_str());
        }
    }
    assert!(
        errors.is_empty(),
        "\nCabeceras o nombres de las tablas guardadas por corregir («este proyecto», «pequeña»):\n{errors}"
    );
}

/// Lo que le falta a la parte final de un capítulo: «## Resumen» con 5 a 8 puntos y, después,
/// «## Preguntas para pensar» con 3 a 5 preguntas, cada una seguida de su respuesta plegada
/// (`<details class="respuesta">` con `<summary>Respuesta</summary>`).
fn closing_sections_problems(markdown: &str) -> Vec<String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let heading = |title: &str| lines.iter().position(|l| l.trim_end() == title);
    let section_end = |from: usize| {
        lines[from + 1..]
            .iter()
            .position(|l| l.starts_with("## "))
            .map_or(lines.len(), |i| from + 1 + i)
    };
    let mut problems = Vec::new();
    let (Some(summary), Some(questions)) =
        (heading("## Resumen"), heading("## Preguntas para pensar"))
    else {
        if heading("## Resumen").is_none() {
            problems.push("no tiene «## Resumen»".to_string());
        }
        if heading("## Preguntas para pensar").is_none() {
            problems.push("no tiene «## Preguntas para pensar»".to_string());
        }
        return problems;
    };
    if questions < summary {
        problems.push("«Preguntas para pensar» va antes de «Resumen»".to_string());
    }
    let bullets = lines[summary + 1..section_end(summary)]
        .iter()
        .filter(|l| l.starts_with("- "))
        .count();
    if !(5..=8).contains(&bullets) {
        problems.push(format!(
            "el resumen tiene {bullets} puntos (se piden de 5 a 8)"
        ));
    }
    let body = &lines[questions + 1..section_end(questions)];
    let asked = body
        .iter()
        .filter(|l| l.starts_with("**") && l.trim_end().ends_with("**") && l.contains('?'))
        .count();
    let mut answers = 0;
    for (i, l) in body.iter().enumerate() {
        if l.starts_with("<details") {
            answers += 1;
            if !l.contains("class=\"respuesta\"")
                || body.get(i + 1).map(|s| s.trim()) != Some("<summary>Respuesta</summary>")
            {
                problems.push(format!(
                    "la respuesta {answers} no empieza con <details class=\"respuesta\"> y \
                     <summary>Respuesta</summary>"
                ));
            }
        }
    }
    if !(3..=5).contains(&asked) {
        problems.push(format!("hay {asked} preguntas (se piden de 3 a 5)"));
    }
    if answers != asked {
        problems.push(format!(
            "hay {asked} preguntas y {answers} respuestas plegadas"
        ));
    }
    problems
}

#[test]
fn el_detector_de_resumen_y_preguntas_pilla_lo_que_debe() {
    let question = "**¿Por qué?**\n\n<details class=\"respuesta\">\n<summary>Respuesta</summary>\n\n\
                    Porque sí.\n\n</details>\n\n";
    let good = format!(
        "# Cap\n\ntexto\n\n## Resumen\n\n- a\n- b\n- c\n- d\n- e\n\n## Preguntas para pensar\n\n{}\
         ## Ejercicios\n\n- **Ejercicio 1.1**\n",
        question.repeat(3)
    );
    assert!(
        closing_sections_problems(&good).is_empty(),
        "{:?}",
        closing_sections_problems(&good)
    );
    let no_summary = good.replace("## Resumen", "## Repaso");
    assert_eq!(closing_sections_problems(&no_summary).len(), 1);
    let few_bullets = good.replace("- d\n- e\n", "");
    assert_eq!(closing_sections_problems(&few_bullets).len(), 1);
    let two_questions = good.replacen(question, "", 1);
    assert_eq!(closing_sections_problems(&two_questions).len(), 1);
    let unfolded = good.replacen("<summary>Respuesta</summary>", "", 1);
    assert_eq!(closing_sections_problems(&unfolded).len(), 1);
}

#[test]
fn cada_capitulo_termina_con_resumen_y_preguntas() {
    let mut chapters = textbook_chapters();
    assert!(chapters.len() >= 9, "solo hay {} capítulos", chapters.len());
    chapters.push((book_dir().join("src").join("cierre.md"), 0));
    let mut errors = String::new();
    for (page, _) in chapters {
        let text = fs::read_to_string(&page).expect("página legible");
        for problem in closing_sections_problems(&text) {
            let _ = writeln!(errors, "  {}: {problem}", relative(&page));
        }
    }
    assert!(
        errors.is_empty(),
        "\nCapítulos sin su cierre de libro de texto («## Resumen» y «## Preguntas para pensar»):\n{errors}"
    );
}

/// Los problemas de los pies de listado y de figura de un capítulo (el número `chapter`):
///
/// - cada bloque de código con un `{{#include …}}` va seguido (tras una línea en blanco) de
///   `<span class="caption">Listado N-k: …</span>`, y cada imagen, de `… Figura N-k: …`;
/// - `N` es el número del capítulo y `k` cuenta desde 1, en orden, listados y figuras por
///   separado;
/// - el pie de un listado plegado como solución dice de qué ejercicio
///   («Listado 7-25, solución del ejercicio 7.11 (1 de 2): …»), y solo ese;
/// - ningún pie queda suelto, sin listado ni figura delante.
fn caption_problems(markdown: &str, chapter: usize) -> Vec<String> {
    caption_problems_from(markdown, chapter, &mut [0, 0])
}

/// [`caption_problems`] de una página que sigue a otras del mismo capítulo: `counters` son los
/// últimos números de listado y de figura de las páginas anteriores, y salen con los de esta.
fn caption_problems_from(markdown: &str, chapter: usize, start: &mut [usize; 2]) -> Vec<String> {
    let caption = Regex::new(
        r#"^<span class="caption">(Listado|Figura) (\d+)-(\d+)(, solución (?:del ejercicio|de los ejercicios) [^:]+)?: (.+)</span>$"#,
    )
    .unwrap();
    let image = Regex::new(r"^\s*!\[[^\]]*\]\([^)]*\)").unwrap();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut problems = Vec::new();
    let mut expected: Vec<(usize, &str, bool)> = Vec::new(); // (línea, tipo, en una solución)
    let mut fence: Option<(&str, bool)> = None; // (marca, incluye algo)
    let mut in_solution = false;
    for (n, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if let Some(m) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            match fence {
                None => fence = Some((m, false)),
                Some((f, included)) if f == m && trimmed.trim_end() == f => {
                    if included {
                        expected.push((n, "Listado", in_solution));
                    }
                    fence = None;
                }
                _ => {}
            }
            continue;
        }
        if let Some((f, _)) = fence {
            if line.contains("{{#include") || line.contains("{{#rustdoc_include") {
                fence = Some((f, true));
            }
            continue;
        }
        if line.contains("<details") {
            in_solution = line.contains("class=\"solucion\"");
        }
        if line.contains("</details>") {
            in_solution = false;
        }
        if image.is_match(line) {
            expected.push((n, "Figura", false));
        }
    }
    let mut counters = [("Listado", start[0]), ("Figura", start[1])];
    let mut used = Vec::new();
    for (n, kind, solution) in expected {
        let next = lines[n + 1..]
            .iter()
            .position(|l| !l.trim().is_empty())
            .map(|i| n + 1 + i);
        let Some(c) = next.and_then(|i| caption.captures(lines[i]).map(|c| (i, c))) else {
            problems.push(format!(
                "línea {}: {} sin su pie («<span class=\"caption\">{kind} {chapter}-k: …</span>»)",
                n + 1,
                if kind == "Listado" {
                    "un listado incluido"
                } else {
                    "una figura"
                }
            ));
            continue;
        };
        let (i, c) = c;
        used.push(i);
        let counter = &mut counters.iter_mut().find(|(k, _)| *k == kind).unwrap().1;
        *counter += 1;
        let shown = format!("{} {}-{}", &c[1], &c[2], &c[3]);
        let want = format!("{kind} {chapter}-{counter}");
        if shown != want {
            problems.push(format!("línea {}: «{shown}», y tocaba «{want}»", i + 1));
            // Sigue contando desde el número que lleva, para no repetir el mismo aviso.
            if let Ok(k) = c[3].parse() {
                *counter = k;
            }
        }
        if c.get(4).is_some() != solution {
            problems.push(format!(
                "línea {}: «{shown}» {} una solución plegada",
                i + 1,
                if solution { "es" } else { "no es" }
            ));
        }
        if c[5].chars().count() < 8 {
            problems.push(format!(
                "línea {}: el pie «{}» no dice qué es",
                i + 1,
                &c[5]
            ));
        }
    }
    for (i, l) in lines.iter().enumerate() {
        if l.contains("class=\"caption\"") && !used.contains(&i) {
            problems.push(format!("línea {}: un pie suelto o mal escrito: {l}", i + 1));
        }
    }
    *start = [counters[0].1, counters[1].1];
    problems
}

#[test]
fn el_detector_de_pies_pilla_lo_que_debe() {
    let good = "texto\n\n```rust,ignore\n{{#include ../a.rs:x}}\n```\n\n\
                <span class=\"caption\">Listado 3-1: `x`, la función de a (src/a.rs)</span>\n\n\
                ```sh\ncargo run\n```\n\n![una figura](figuras/a.svg)\n\n\
                <span class=\"caption\">Figura 3-1: La figura de todo el capítulo</span>\n\n\
                <details class=\"solucion\">\n<summary>s</summary>\n\n```rust,ignore\n\
                {{#include ../a.rs:y}}\n```\n\n\
                <span class=\"caption\">Listado 3-2, solución del ejercicio 3.1: `y` (src/a.rs)</span>\n\n\
                </details>\n";
    assert!(
        caption_problems(good, 3).is_empty(),
        "{:?}",
        caption_problems(good, 3)
    );
    // Otro capítulo, un pie que falta, un número salteado, una solución sin decirlo.
    assert_eq!(caption_problems(good, 4).len(), 3);
    let missing = good.replacen(
        "<span class=\"caption\">Listado 3-1: `x`, la función de a (src/a.rs)</span>\n\n",
        "",
        1,
    );
    assert!(!caption_problems(&missing, 3).is_empty());
    let skipped = good.replace("Listado 3-2,", "Listado 3-3,");
    assert_eq!(caption_problems(&skipped, 3).len(), 1);
    let unsaid = good.replace(", solución del ejercicio 3.1", "");
    assert_eq!(caption_problems(&unsaid, 3).len(), 1);
    let no_figure_caption = good.replace("Figura 3-1: La figura de todo el capítulo", "");
    assert!(!caption_problems(&no_figure_caption, 3).is_empty());
    // Una segunda página del mismo capítulo sigue contando donde acabó la primera.
    let mut counters = [0, 0];
    assert!(caption_problems_from(good, 3, &mut counters).is_empty());
    assert_eq!(counters, [2, 1]);
    let second = good
        .replace("Listado 3-1:", "Listado 3-3:")
        .replace("Listado 3-2,", "Listado 3-4,")
        .replace("Figura 3-1:", "Figura 3-2:");
    assert!(
        caption_problems_from(&second, 3, &mut counters).is_empty(),
        "{:?}",
        caption_problems_from(&second, 3, &mut [2, 1])
    );
    assert_eq!(counters, [4, 2]);
    assert_eq!(caption_problems_from(good, 3, &mut [2, 1]).len(), 2);
}

/// Cada página `capNN_*.md` lleva el número NN en el índice: una sección que parte un capítulo
/// va sangrada bajo él en `SUMMARY.md`, y no corre la numeración de los siguientes.
#[test]
fn cada_pagina_de_capitulo_lleva_su_numero() {
    let chapters = numbered_chapters();
    let mut seen = 0;
    for (page, number) in &chapters {
        let name = page.file_name().unwrap().to_string_lossy().to_string();
        if let Some(nn) = name.strip_prefix("cap").and_then(|r| r.get(..2)) {
            seen += 1;
            assert_eq!(
                nn.parse::<usize>().ok(),
                Some(*number),
                "{name} es la página del capítulo {number} en SUMMARY.md"
            );
        }
    }
    assert!(
        seen >= 9,
        "solo hay {seen} páginas de capítulo en el índice"
    );
}

#[test]
fn cada_listado_y_cada_figura_tiene_su_pie_numerado() {
    let mut errors = String::new();
    let mut captions = 0;
    // Los números siguen de una página a la siguiente del mismo capítulo.
    let mut counters = (0, [0, 0]);
    for (page, chapter) in textbook_chapters() {
        let text = fs::read_to_string(&page).expect("página legible");
        captions += text.matches("class=\"caption\"").count();
        if counters.0 != chapter {
            counters = (chapter, [0, 0]);
        }
        for problem in caption_problems_from(&text, chapter, &mut counters.1) {
            let _ = writeln!(
                errors,
                "  {} (capítulo {chapter}): {problem}",
                relative(&page)
            );
        }
    }
    assert!(
        errors.is_empty(),
        "\nListados y figuras sin su pie numerado, como en el libro de Rust:\n{errors}"
    );
    assert!(captions >= 100, "solo hay {captions} pies en el libro");
}

#[test]
fn la_notacion_esta_tras_la_introduccion_y_tiene_los_simbolos() {
    let summary = summary_links();
    let intro = summary.iter().position(|l| l == "intro.md");
    let notation = summary.iter().position(|l| l == "notacion.md");
    assert!(
        intro.is_some() && notation == intro.map(|i| i + 1),
        "notacion.md debe ir justo después de intro.md en SUMMARY.md: {summary:?}"
    );
    let text = fs::read_to_string(book_dir().join("src").join("notacion.md")).expect("notacion.md");
    for symbol in [
        r"\\( B \\)",
        r"\\( T \\)",
        r"\\( C \\)",
        r"\\( V \\)",
        r"\\( d_k \\)",
        r"\\( n_{head} \\)",
        r"\\( n_{layer} \\)",
        r"\\( \\tau \\)",
        r"\\( \\eta \\)",
        r"\\( p \\)",
    ] {
        let row = format!("| {symbol} |");
        assert!(
            text.contains(&row),
            "la tabla de notacion.md no tiene la fila de {symbol}"
        );
    }
}

#[test]
fn el_glosario_tiene_los_terminos_del_libro() {
    let text = fs::read_to_string(book_dir().join("src").join("glosario.md")).expect("glosario.md");
    for (term, english) in [
        ("bigrama", "bigram"),
        ("red de avance", "feed-forward"),
        ("punto de control", "checkpoint"),
        ("caché KV", "KV cache"),
        ("temperatura", "temperature"),
        ("top-k", "top-k"),
        ("top-p", "top-p"),
        ("perplejidad", "perplexity"),
        ("sesgo", "bias"),
        ("instantánea", "snapshot"),
        ("configuración predefinida", "preset"),
    ] {
        let entry = text
            .lines()
            .find(|l| l.starts_with(&format!("- **{term}** (*")))
            .unwrap_or_else(|| panic!("el glosario no tiene la entrada «{term}»"));
        assert!(
            entry.contains(english),
            "la entrada «{term}» del glosario no da el nombre en inglés («{english}»): {entry}"
        );
    }
}

/// Las palabras que lee quien lee una página: las de fuera de los bloques de código (un listado
/// o una salida se mira, no se lee de corrido), sin las directivas `{{#include …}}`.
fn reading_words(markdown: &str) -> usize {
    let mut fence: Option<&str> = None;
    let mut words = 0;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) if !trimmed.starts_with("{{#") => {
                words += line
                    .split_whitespace()
                    .filter(|w| w.chars().any(char::is_alphanumeric))
                    .count();
            }
            _ => {}
        }
    }
    words
}

/// El ritmo (issue 23): ninguna página de capítulo pasa de 4 000 palabras de lectura. Un
/// capítulo más largo se parte en secciones con su resumen y sus preguntas, sangradas bajo él
/// en `SUMMARY.md` (como `cap05_entrenar.md`).
const MAX_READING_WORDS: usize = 4000;

#[test]
fn el_contador_de_palabras_cuenta_lo_que_se_lee() {
    let page = "# Título\n\nUna frase con 3 palabras y un número.\n\n```rust\nfn no_cuenta() {}\n```\n\n\
                {{#include tablas/x.md}}\n\n- punto — uno\n";
    // «#» y «—» no son palabras; el código y la directiva no se leen de corrido.
    assert_eq!(reading_words(page), 11);
}

#[test]
fn ninguna_pagina_de_capitulo_es_demasiado_larga() {
    let mut errors = String::new();
    for (page, _) in textbook_chapters() {
        let text = fs::read_to_string(&page).expect("página legible");
        let words = reading_words(&text);
        if words > MAX_READING_WORDS {
            let _ = writeln!(errors, "  {}: {words} palabras", relative(&page));
        }
    }
    assert!(
        errors.is_empty(),
        "\nPáginas de más de {MAX_READING_WORDS} palabras de lectura (pártelas en secciones, \
         con su resumen y sus preguntas, sangradas bajo el capítulo en SUMMARY.md):\n{errors}"
    );
}

/// Los tiempos que una página da de su cosecha: «unos quince segundos», «menos de un
/// segundo», «más de 10 s». Los que cita de `book/medidas.json`, entre
/// `<!--medida:CLAVE-->` y `<!--/medida-->`, no cuentan: esos los midió `scripts/cifras.py`.
fn handwritten_times(markdown: &str) -> Vec<String> {
    let cited = Regex::new(r"<!--medida:[a-z_0-9]+-->.*?<!--/medida-->").unwrap();
    let text = prose(&cited.replace_all(markdown, " "));
    let time = Regex::new(
        r"(?i)\b(?:unos|unas|alrededor de|más de|menos de|casi|cerca de|apenas|hasta)\s+(?:\d[\d,\u{202f}\u{a0}]*|un|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|quince|veinte|treinta|cuarenta|cincuenta|sesenta|noventa|cien|medio|media)\s+(?:s|ms|segundos?|minutos?|min|horas?)\b",
    )
    .unwrap();
    time.find_iter(&text)
        .map(|m| m.as_str().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn el_detector_de_tiempos_escritos_a_mano_pilla_lo_que_debe() {
    for bad in [
        "En una máquina de dos núcleos tarda unos quince segundos.",
        "tarda menos de un segundo en nuestra máquina",
        "cada paso tarda más de 10 s",
        "unos 7 min en una máquina de 2 núcleos",
        "casi tres horas",
    ] {
        assert!(!handwritten_times(bad).is_empty(), "no pilla «{bad}»");
    }
    for good in [
        "tarda <!--medida:capitulo_6-->unos 33 segundos<!--/medida--> en dos núcleos",
        "10 000 pasos en unos segundos",
        "entrena unos minutos",
        "`--max-minutos 10`",
        "La conexión tiene 10 s para abrirse",
        "a las tres horas descubres que la tasa era alta",
    ] {
        assert!(
            handwritten_times(good).is_empty(),
            "pilla «{good}»: {:?}",
            handwritten_times(good)
        );
    }
}

/// Las medidas guardadas por `python3 scripts/cifras.py medir`: clave → su objeto.
fn saved_measures() -> serde_json::Map<String, serde_json::Value> {
    let path = book_dir().join("medidas.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("{} no es un objeto JSON: {other:?}", path.display()),
    }
}

#[test]
fn cada_tiempo_del_libro_y_del_readme_es_una_medida_guardada() {
    let measures = saved_measures();
    let iso_date = Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap();
    for (key, m) in &measures {
        for field in ["que", "orden", "texto", "maquina", "instrucciones", "fecha"] {
            assert!(
                m.get(field)
                    .and_then(|v| v.as_str())
                    .is_some_and(|s| !s.is_empty()),
                "la medida «{key}» de book/medidas.json no dice «{field}»"
            );
        }
        let date = m["fecha"].as_str().unwrap();
        assert!(
            iso_date.is_match(date),
            "la fecha de «{key}» no es AAAA-MM-DD: {date}"
        );
    }
    let mark = Regex::new(r"<!--medida:([a-z_0-9]+)-->(.*?)<!--/medida-->").unwrap();
    let mut places = pages();
    places.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let mut cited = std::collections::BTreeSet::new();
    let mut errors = String::new();
    for place in &places {
        let text = fs::read_to_string(place).expect("archivo legible");
        let name = relative(place);
        for c in mark.captures_iter(&text) {
            cited.insert(c[1].to_string());
            match measures.get(&c[1]).and_then(|m| m["texto"].as_str()) {
                None => errors.push_str(&format!(
                    "{name}: cita la medida «{}», que no está en book/medidas.json\n",
                    &c[1]
                )),
                Some(saved) if saved != &c[2] => errors.push_str(&format!(
                    "{name}: dice «{}» para «{}», y lo guardado es «{saved}»\n",
                    &c[2], &c[1]
                )),
                Some(_) => {}
            }
        }
        for found in handwritten_times(&text) {
            errors.push_str(&format!(
                "{name}: «{found}» es un tiempo escrito a mano: mídelo con \
                 `python3 scripts/cifras.py medir` y cítalo, o quita la cifra\n"
            ));
        }
    }
    for key in measures.keys().filter(|k| !cited.contains(*k)) {
        errors.push_str(&format!(
            "la medida «{key}» está guardada y nadie la cita\n"
        ));
    }
    assert!(errors.is_empty(), "{errors}");
    let appendix =
        fs::read_to_string(book_dir().join("src").join("medidas.md")).expect("medidas.md");
    assert!(
        appendix.contains("{{#include tablas/medidas.md}}"),
        "el apéndice «Tiempos medidos» debe incluir la tabla de las medidas"
    );
}

/// Los números de las ecuaciones aparte (`\\[ … \\tag{N.k} \\]`) de un capítulo, en orden; una
/// ecuación sin número da `None`.
fn equation_tags(markdown: &str) -> Vec<Option<String>> {
    let block = Regex::new(r"(?s)\\\\\[(.*?)\\\\\]").unwrap();
    let tag = Regex::new(r"\\\\tag\{([^}]*)\}").unwrap();
    block
        .captures_iter(markdown)
        .map(|c| tag.captures(&c[1]).map(|t| t[1].to_string()))
        .collect()
}

#[test]
fn el_lector_de_numeros_de_ecuacion_pilla_lo_que_debe() {
    let text = "a \\\\( x \\\\) b\n\\\\[ y = 1 \\\\tag{5.1} \\\\]\n\\\\[\nz\n\\\\]\n";
    assert_eq!(equation_tags(text), vec![Some("5.1".to_string()), None]);
}

/// Como en Dive into Deep Learning, cada ecuación aparte lleva su número, «(N.k)», con `N` el
/// número del capítulo y `k` contando desde 1 en todas sus páginas, en el orden del índice.
#[test]
fn cada_ecuacion_aparte_lleva_su_numero() {
    let mut errors = String::new();
    let mut next = std::collections::BTreeMap::<usize, usize>::new();
    let mut total = 0;
    for (page, chapter) in textbook_chapters() {
        let text = fs::read_to_string(&page).expect("página legible");
        for tag in equation_tags(&text) {
            let k = next.entry(chapter).or_insert(0);
            *k += 1;
            total += 1;
            let want = format!("{chapter}.{k}");
            match tag {
                Some(t) if t == want => {}
                Some(t) => {
                    let _ = writeln!(
                        errors,
                        "  {}: la ecuación {want} dice ({t})",
                        relative(&page)
                    );
                }
                None => {
                    let _ = writeln!(
                        errors,
                        "  {}: la ecuación {want} no tiene \\\\tag{{{want}}}",
                        relative(&page)
                    );
                }
            }
        }
    }
    assert!(
        total >= 20,
        "solo hay {total} ecuaciones aparte en los capítulos"
    );
    assert!(errors.is_empty(), "\nEcuaciones sin su número:\n{errors}");
}
