//! La casa en orden: la lección (`src/model`, `src/text`) no depende de las herramientas ni
//! de la maquinaria de velocidad, y ningún archivo de `src/` depende de otro que dependa de
//! él. Se comprueba leyendo el código (sin comentarios), como lo leería quien lo revisa.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Los archivos `.rs` de `dir`, recursivamente, con su módulo (`model::gpt`).
fn modules(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel: PathBuf = path.strip_prefix(root).unwrap().with_extension("");
                let module = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("::");
                out.insert(module, code_only(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out.remove("lib");
    out
}

/// El código sin comentarios (`//`, `///`, `//!`) ni el módulo de pruebas del final.
fn code_only(text: &str) -> String {
    let text = text.split("\n#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Los módulos del crate que nombra `code` (`crate::tools::rng` → `tools::rng`), de entre
/// `known`, también en `use crate::tools::{checkpoint, plot}`.
fn uses(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let flat = code.replace(['\n', ' '], "");
    let mut found = BTreeSet::new();
    for m in known {
        let (parent, name) = m.rsplit_once("::").unwrap_or(("", m));
        let direct = format!("crate::{m}");
        let grouped = !parent.is_empty()
            && flat
                .split(&format!("crate::{parent}::{{"))
                .skip(1)
                .any(|rest| {
                    let group = rest.split('}').next().unwrap_or("");
                    group.split(',').any(|item| {
                        let item = item.trim();
                        item == name || item.starts_with(&format!("{name}::"))
                    })
                });
        let used = flat.match_indices(&direct).any(|(i, _)| {
            let next = flat[i + direct.len()..].chars().next();
            !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        if used || grouped {
            found.insert(m.clone());
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, code)| {
            let mut deps = uses(code, &known);
            deps.remove(m);
            (m.clone(), deps)
        })
        .collect()
}

#[test]
fn la_leccion_no_depende_de_las_herramientas_ni_de_clap() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (module, code) in modules(&src) {
        if !(module.starts_with("model::") || module.starts_with("text::")) {
            continue;
        }
        for dep in uses(&code, &graph().keys().cloned().collect()) {
            // tools::rng y tools::pretty (la norma de los números del libro, sin más
            // dependencias) son hojas: la lección puede usarlas sin arrastrar nada más.
            let allowed = dep == "tools::rng"
                || dep == "tools::pretty"
                || dep.starts_with("model::")
                || dep.starts_with("text::");
            if !allowed {
                wrong.push(format!("{module} usa {dep}"));
            }
        }
        if code.contains("clap") {
            wrong.push(format!("{module} nombra clap"));
        }
        for macro_name in ["crate::println!", "crate::eprintln!", "crate::print!"] {
            if code.contains(macro_name) {
                wrong.push(format!("{module} usa {macro_name} (de tools::cli)"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "la lección depende de fuera:\n{}",
        wrong.join("\n")
    );
}

/// Los pares de módulos que se usan el uno al otro.
fn mutual_pairs() -> BTreeSet<(String, String)> {
    let g = graph();
    let mut pairs = BTreeSet::new();
    for (a, deps) in &g {
        for b in deps {
            if a < b && g.get(b).is_some_and(|d| d.contains(a)) {
                pairs.insert((a.clone(), b.clone()));
            }
        }
    }
    pairs
}

#[test]
fn sin_circulos_entre_archivos() {
    let pairs = mutual_pairs();
    assert!(
        pairs.is_empty(),
        "archivos que se usan el uno al otro: {pairs:?}"
    );
}

/// El detector ve de verdad los `use` agrupados y los caminos completos.
#[test]
fn el_detector_ve_los_usos() {
    let known: BTreeSet<String> = ["tools::cli", "tools::plot", "tools::rng", "text::corpus"]
        .map(String::from)
        .into();
    let code = "use crate::tools::{\n    cli,\n    plot::LossPoint,\n};\nfn f() { crate::text::corpus::x(); }";
    assert_eq!(
        uses(code, &known),
        ["tools::cli", "tools::plot", "text::corpus"]
            .map(String::from)
            .into()
    );
    assert!(uses(&code_only("// use crate::tools::cli;"), &known).is_empty());
    assert!(uses("use crate::tools::rngs::X;", &known).is_empty());
}

/// Los programas narran y llaman a la biblioteca: el del capítulo 7 cabe en 250 líneas. Y el
/// bucle de entrenamiento de la lección, el de `gpt.py`, en 30.
#[test]
fn el_programa_del_capitulo_7_y_el_bucle_son_cortos() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let program = std::fs::read_to_string(root.join("chapters/07_gpt.rs")).unwrap();
    let lines = program.lines().count();
    assert!(
        lines <= 250,
        "chapters/07_gpt.rs tiene {lines} líneas (como mucho 250)"
    );
    let train = std::fs::read_to_string(root.join("src/model/train.rs")).unwrap();
    let start = train
        .find("pub fn train<")
        .expect("model::train::train existe");
    let body: Vec<&str> = train[start..].lines().take_while(|l| *l != "}").collect();
    let lines = body.len() + 1;
    assert!(
        (5..=30).contains(&lines),
        "model::train::train tiene {lines} líneas (como mucho 30)"
    );
}
