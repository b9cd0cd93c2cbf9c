//! Arnés de mutantes: califica las soluciones de referencia con errores puestos a propósito,
//! con el mismo programa que `cargo ejercicios`.
//!
//! Copia el paquete `ejercicios` a `<target>/mutantes/ejercicios/`, con las soluciones de
//! referencia (`tests/calificadores/referencia/capNN.rs`) en el lugar de los archivos del
//! alumno (`capNN_*.rs`) y cada mutación aplicada (un reemplazo de texto que debe aparecer
//! exactamente una vez). Compila su programa `calificar` con el mismo perfil que el espacio de
//! trabajo y en su misma carpeta `target/`: las dependencias ya compiladas se reutilizan, y la
//! carpeta del mutante es siempre la misma, así que la compilación incremental solo rehace lo
//! que cambió (unos segundos por mutante). La primera vez en un `target/` limpio compila
//! además la biblioteca del proyecto para este espacio de trabajo.
//!
//! Úsalo desde una prueba con `#[path = "comun/mutantes.rs"] mod mutantes;`. Las llamadas se
//! hacen de una en una (un cerrojo de archivo, también entre procesos), y cada programa
//! compilado se guarda: varias llamadas con las mismas mutaciones compilan una vez.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Un error puesto a propósito en una solución de referencia.
#[derive(Clone, Copy, Debug)]
pub struct Mutation {
    /// El capítulo: `"cap07"` (el archivo `tests/calificadores/referencia/cap07.rs`).
    pub chapter: &'static str,
    /// El texto original, que debe aparecer exactamente una vez en ese archivo.
    pub original: &'static str,
    /// Lo que lo reemplaza.
    pub replacement: &'static str,
}

/// Lo que dijo el calificador.
#[derive(Debug)]
pub struct Graded {
    pub stdout: String,
    pub stderr: String,
    /// El código de salida del programa `calificar` (no el de cargo, que con un fallo
    /// siempre es 101).
    pub code: Option<i32>,
    /// Lo que tardó en compilarse este mutante (cero si ya estaba compilado).
    pub build: Duration,
    /// Lo que tardó en calificar.
    pub run: Duration,
}

impl Graded {
    /// La salida estándar y la de errores, juntas (para buscar ruido en las dos).
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Los capítulos: el archivo de referencia y el del alumno.
const CHAPTERS: &[(&str, &str)] = &[
    ("cap01", "cap01_datos.rs"),
    ("cap02", "cap02_codificacion.rs"),
    ("cap03", "cap03_tensores.rs"),
    ("cap04", "cap04_lotes.rs"),
    ("cap05", "cap05_bigram.rs"),
    ("cap06", "cap06_autoatencion.rs"),
    ("cap07", "cap07_gpt.rs"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// La carpeta `target/` de esta prueba: el ejecutable está en `<target>/<perfil>/deps/`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("la ruta de la prueba");
    exe.ancestors()
        .nth(3)
        .expect("la prueba está en <target>/<perfil>/deps/")
        .to_path_buf()
}

/// Escribe `text` solo si cambia: cargo decide qué recompilar por la fecha de los archivos.
fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    fs::create_dir_all(path.parent().expect("tiene carpeta")).expect("crear la carpeta");
    fs::write(path, text).unwrap_or_else(|e| panic!("escribir {}: {e}", path.display()));
}

/// Reemplaza `from` por `to` en `text`, comprobando que `from` aparece una sola vez.
fn replace_once(text: &str, from: &str, to: &str, what: &str) -> String {
    let n = text.matches(from).count();
    assert_eq!(n, 1, "«{from}» aparece {n} veces en {what} (debe ser una)");
    text.replacen(from, to, 1)
}

/// Las secciones `[profile.*]` del `Cargo.toml` de la raíz, tal cual; y la biblioteca del
/// proyecto, que aquí no es miembro del espacio de trabajo, con el perfil de los miembros
/// (el de `[profile.dev]`, con sus comprobaciones de desbordamiento).
fn profiles() -> String {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).expect("leer Cargo.toml");
    let mut out = String::new();
    let mut dev = String::new();
    let mut section = String::new();
    for line in manifest.lines() {
        if line.starts_with('[') {
            section = line.trim().to_string();
        }
        if section.starts_with("[profile.") {
            out.push_str(line);
            out.push('\n');
            if section == "[profile.dev]" && !line.starts_with('[') {
                dev.push_str(line);
                dev.push('\n');
            }
        }
    }
    assert!(!dev.is_empty(), "Cargo.toml no tiene [profile.dev]");
    out.push_str("\n[profile.dev.package.gpt-desde-cero]\n");
    out.push_str(&dev);
    out.push_str("debug-assertions = true\noverflow-checks = true\n");
    out
}

/// Escribe el paquete mutante en `dir` (un espacio de trabajo con el paquete `ejercicios`).
fn write_package(dir: &Path, mutations: &[Mutation]) {
    let root = root();
    let pkg = dir.join("ejercicios");
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "# Generado por tests/comun/mutantes.rs: no lo edites.\n\
             [workspace]\nmembers = [\"ejercicios\"]\nresolver = \"3\"\n\n{}",
            profiles()
        ),
    );
    // Las mismas versiones de las dependencias que el proyecto.
    let lock = fs::read_to_string(root.join("Cargo.lock")).expect("leer Cargo.lock");
    write_if_changed(&dir.join("Cargo.lock"), &lock);
    let manifest = fs::read_to_string(root.join("ejercicios/Cargo.toml")).expect("leer");
    let manifest = replace_once(
        &manifest,
        "gpt-desde-cero = { path = \"..\" }",
        &format!(
            "gpt-desde-cero = {{ path = {:?} }}",
            root.display().to_string()
        ),
        "ejercicios/Cargo.toml",
    );
    write_if_changed(&pkg.join("Cargo.toml"), &manifest);
    let lib = fs::read_to_string(root.join("ejercicios/lib.rs")).expect("leer lib.rs");
    write_if_changed(&pkg.join("lib.rs"), &lib);
    // El programa del alumno, con la ruta a los calificadores del proyecto.
    let harness = fs::read_to_string(root.join("ejercicios/tests/calificar.rs")).expect("leer");
    let harness = replace_once(
        &harness,
        "#[path = \"../../tests/calificadores/mod.rs\"]",
        &format!(
            "#[path = {:?}]",
            root.join("tests/calificadores/mod.rs")
                .display()
                .to_string()
        ),
        "ejercicios/tests/calificar.rs",
    );
    write_if_changed(&pkg.join("tests/calificar.rs"), &harness);
    for m in mutations {
        assert!(
            CHAPTERS.iter().any(|(c, _)| *c == m.chapter),
            "no hay capítulo {}",
            m.chapter
        );
    }
    for (chapter, file) in CHAPTERS {
        let path = root.join(format!("tests/calificadores/referencia/{chapter}.rs"));
        let mut text = fs::read_to_string(&path).expect("leer la solución de referencia");
        for m in mutations.iter().filter(|m| m.chapter == *chapter) {
            text = replace_once(
                &text,
                m.original,
                m.replacement,
                &path.display().to_string(),
            );
        }
        write_if_changed(&pkg.join(file), &text);
    }
}

/// Compila el programa `calificar` del paquete de `dir` y devuelve su ruta.
fn build(dir: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .args([
            "test",
            "--no-run",
            "--offline",
            "-p",
            "ejercicios",
            "--test",
            "calificar",
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("ejecutar cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "el mutante no compila:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // La línea JSON del artefacto de la prueba `calificar` trae `"executable":"…"`.
    let exe = stdout
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("calificar"))
        .find_map(|l| {
            let rest = l.split("\"executable\":\"").nth(1)?;
            Some(rest.split('"').next()?.to_string())
        })
        .expect("cargo no dijo dónde está el programa calificar");
    PathBuf::from(exe)
}

/// Compila (si hace falta) las soluciones de referencia con `mutations` y ejecuta su
/// calificador con `args` (lo que va tras `cargo ejercicios`) y las variables `env` (además
/// del entorno de la prueba, sin `RUST_BACKTRACE` ni variables `PROPTEST_*`, salvo que
/// `env` las ponga).
pub fn grade(mutations: &[Mutation], args: &[&str], env: &[(&str, &str)]) -> Graded {
    let (mut cmd, build_time) = command(mutations, args, env);
    let start = Instant::now();
    let out = cmd.output().expect("ejecutar el calificador");
    Graded {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
        build: build_time,
        run: start.elapsed(),
    }
}

/// La orden que ejecuta el calificador de las soluciones de referencia con `mutations` (que
/// compila si hace falta), como la ejecuta [`grade`], para lanzarla a mano (por ejemplo, para
/// mandarle Ctrl-C); y lo que tardó en compilarse.
pub fn command(mutations: &[Mutation], args: &[&str], env: &[(&str, &str)]) -> (Command, Duration) {
    // Una compilación a la vez en este proceso; el cerrojo de archivo, entre procesos.
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let key = format!("{mutations:?}");
    let dir = target_dir().join("mutantes");
    let mut build_time = Duration::ZERO;
    let cached = built.get_or_insert_with(HashMap::new).get(&key).cloned();
    let exe = match cached {
        Some(exe) => exe,
        None => {
            fs::create_dir_all(&dir).expect("crear la carpeta de los mutantes");
            let lock = fs::File::create(dir.join(".cerrojo")).expect("crear el cerrojo");
            lock.lock().expect("tomar el cerrojo");
            let start = Instant::now();
            write_package(&dir, mutations);
            let exe = build(&dir);
            // Una copia propia: la siguiente mutación recompila encima del original. Se copia
            // aparte y se renombra, por si otro proceso está ejecutando la copia anterior.
            let copy = dir.join(format!("calificar-{:016x}", {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                key.hash(&mut h);
                h.finish()
            }));
            let tmp = copy.with_extension(format!("tmp{}", std::process::id()));
            fs::copy(&exe, &tmp).expect("copiar el programa calificar");
            fs::rename(&tmp, &copy).expect("renombrar el programa calificar");
            drop(lock);
            build_time = start.elapsed();
            built.as_mut().expect("creado").insert(key, copy.clone());
            copy
        }
    };
    drop(built);
    let mut cmd = Command::new(&exe);
    // cargo ejecuta las pruebas en la carpeta de su paquete.
    cmd.current_dir(dir.join("ejercicios"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    for (k, _) in std::env::vars() {
        if k.starts_with("PROPTEST_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd, build_time)
}

/// El informe de un ejercicio: desde su línea «✘ Ejercicio N.M …» hasta la siguiente línea
/// que no tenga sangría (otro ejercicio, o el resumen).
pub fn report<'a>(stdout: &'a str, number: &str) -> Vec<&'a str> {
    let start = format!("Ejercicio {number} ");
    let mut lines = stdout.lines().skip_while(|l| !l.contains(&start));
    let Some(first) = lines.next() else {
        panic!("no hay informe del ejercicio {number} en:\n{stdout}");
    };
    std::iter::once(first)
        .chain(lines.take_while(|l| l.starts_with("      ")))
        .collect()
}
