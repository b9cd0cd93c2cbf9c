//! Utilidades compartidas por las pruebas de integración.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use gpt_desde_cero::corpus;

/// El corpus real: de la caché (`datos/` o `GPT_DESDE_CERO_DATOS`) o, si no está, descargado
/// con el mismo código que usan los programas. Si no se puede, la prueba falla diciendo cómo
/// conseguirlo: ninguna prueba se salta en silencio.
pub fn real_corpus() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| match corpus::load(None) {
        Ok(c) => c.text,
        Err(e) => panic!(
            "\n\nEstas pruebas necesitan el corpus real y no se pudo obtener:\n  {e}\n\
             Descárgalo con `cargo run --release --bin 01_datos`, o copia el archivo \
             el_quijote.txt en {} (o en la carpeta de la variable GPT_DESDE_CERO_DATOS).\n",
            corpus::cache_path().display()
        ),
    })
}

/// Ejecuta el programa de un capítulo con argumentos y variables de entorno extra.
pub fn run_chapter(bin_path: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(bin_path);
    cmd.args(args).env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .expect("no se pudo ejecutar el programa del capítulo")
}

/// La salida estándar de un capítulo que debe terminar bien, sobre el corpus real.
pub fn chapter_stdout(bin_path: &str, args: &[&str]) -> String {
    real_corpus(); // garantiza la caché (o un mensaje claro) antes de lanzar el programa
    let out = run_chapter(bin_path, args, &[]);
    assert!(
        out.status.success(),
        "{bin_path} {args:?} falló:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("la salida es UTF-8")
}
