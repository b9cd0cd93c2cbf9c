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
//! - el libro se construye con `mdbook-driver` (la misma versión que `mdbook` 0.5.4) en una
//!   carpeta temporal, y el HTML contiene de verdad el código y las salidas incluidas.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use mdbook_driver::MDBook;
use mdbook_driver::config::Config;

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
        match inc.selection {
            Selection::Lines { start, .. } if start >= header => {}
            _ => {
                return Err(format!(
                    "incluye la cabecera de la instantánea; empieza en la línea {} o después \
                     (por ejemplo «{}:{}:»)",
                    header + 1,
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

/// ¿Aparece `line` en el HTML? Dentro de los bloques de código mdBook escapa `&`, `<` y `>`
/// (las comillas, según el contexto, pueden ir escapadas o no).
fn html_shows(html: &str, line: &str) -> bool {
    let escaped = line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    html.contains(&escaped) || html.contains(&escaped.replace('"', "&quot;"))
}

#[test]
fn el_libro_se_construye_y_muestra_lo_incluido() {
    // Sin esto, una página que faltara se crearía vacía dentro de book/src al cargar.
    cada_capitulo_del_indice_existe();

    // `LIBRO_HTML=<carpeta>` deja el HTML en esa carpeta para mirarlo; si no, va a un temporal.
    let tmp = tempfile::tempdir().expect("carpeta temporal");
    let out =
        std::env::var_os("LIBRO_HTML").map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let mut config = Config::from_disk(book_dir().join("book.toml"))
        .unwrap_or_else(|e| panic!("book.toml no es válido: {e:#}"));
    config.build.create_missing = false;
    config.build.build_dir = out.clone();
    let book = MDBook::load_with_config(book_dir(), config)
        .unwrap_or_else(|e| panic!("no se pudo cargar el libro: {e:#}"));
    book.build()
        .unwrap_or_else(|e| panic!("no se pudo construir el libro: {e:#}"));

    // Cada página con inclusiones debe mostrar, en su HTML, la primera línea con contenido de
    // cada texto incluido: así sabemos que las inclusiones se resolvieron al construir.
    let mut errors = String::new();
    let mut checked = 0;
    for page in pages() {
        let stem = page.file_stem().unwrap().to_string_lossy().to_string();
        if stem == "SUMMARY" {
            continue;
        }
        let html_path = out.join(format!("{stem}.html"));
        let html = fs::read_to_string(&html_path)
            .unwrap_or_else(|e| panic!("falta la página {}: {e}", html_path.display()));
        assert!(
            !html.contains("{{#include"),
            "{stem}.html contiene una directiva {{{{#include}}}} sin resolver"
        );
        let markdown = fs::read_to_string(&page).unwrap();
        for inc in includes(&markdown) {
            let Ok(text) = resolve(&page, &inc) else {
                continue; // ya lo informa la prueba de las inclusiones
            };
            let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap();
            checked += 1;
            if !html_shows(&html, first) {
                let _ = writeln!(
                    errors,
                    "  {stem}.html no contiene «{first}» (de {})",
                    inc.directive
                );
            }
        }
    }
    assert!(
        errors.is_empty(),
        "\nEl HTML no muestra lo que incluye el Markdown:\n{errors}"
    );
    assert!(checked > 0, "ninguna página incluye nada");

    // Unas líneas conocidas, del código y de las salidas de los programas.
    let page = |name: &str| fs::read_to_string(out.join(name)).unwrap();
    let cap02 = page("cap02_codificacion.html");
    assert!(
        cap02.contains("chars.sort_unstable();"),
        "falta el código de from_text"
    );
    assert!(
        cap02.contains("Tamaño del vocabulario: 89"),
        "falta la salida de 02_codificacion"
    );
    let cap03 = page("cap03_tensores.html");
    assert!(
        cap03.contains("División 90/10: n = 934557"),
        "falta la división en la salida de 03_tensores"
    );
    assert!(
        cap03.contains("Los diez caracteres más frecuentes:"),
        "falta la tabla de frecuencias de 03_tensores"
    );
    let cap04 = page("cap04_lotes.html");
    assert!(
        cap04.contains("cuando el contexto es [27] el objetivo es 38"),
        "faltan los pares de 04_lotes"
    );
    assert!(
        cap04.contains("Un lote de entrenamiento (semilla 1337):"),
        "falta el lote de 04_lotes"
    );
}
