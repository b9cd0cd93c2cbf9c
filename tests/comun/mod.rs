//! Utilidades compartidas por las pruebas de integración.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use gpt_desde_cero::tools::download;

/// El corpus real: de la caché (`datos/` o `GPT_DESDE_CERO_DATOS`) o, si no está, descargado
/// con el mismo código que usan los programas. Si no se puede, la prueba falla diciendo cómo
/// conseguirlo: ninguna prueba se salta en silencio.
pub fn real_corpus() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| match download::load(None) {
        Ok(c) => c.text,
        Err(e) => panic!(
            "\n\nEstas pruebas necesitan el corpus real y no se pudo obtener:\n  {e}\n\
             Descárgalo con `cargo run --release --bin 01_datos`, o copia el archivo \
             el_quijote.txt en {} (o en la carpeta de la variable GPT_DESDE_CERO_DATOS).\n",
            download::cache_path().display()
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

/// Un servidor HTTP/1.1 mínimo en 127.0.0.1 (puerto elegido por el sistema), para probar la
/// descarga de verdad: a cada petición responde los mismos bytes crudos (cabeceras y cuerpo) y
/// cierra la conexión. Cuenta las peticiones que recibe. Se detiene al soltarlo.
pub struct Servidor {
    pub url: String,
    direccion: std::net::SocketAddr,
    peticiones: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    parar: std::sync::Arc<std::sync::atomic::AtomicBool>,
    hilo: Option<std::thread::JoinHandle<()>>,
}

impl Servidor {
    /// Responde `respuesta` tal cual: así se pueden simular cortes y cabeceras mentirosas.
    pub fn crudo(respuesta: Vec<u8>) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering::SeqCst;
        use std::time::Duration;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("abrir un puerto local");
        let direccion = listener.local_addr().unwrap();
        let peticiones = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let parar = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (cuenta, fin) = (peticiones.clone(), parar.clone());
        let hilo = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if fin.load(SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = conn.set_write_timeout(Some(Duration::from_secs(5)));
                // Leemos la petición entera (un GET no lleva cuerpo) antes de contestar.
                let mut pedido = Vec::new();
                let mut buf = [0u8; 1024];
                while !pedido.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(n) if n > 0 => pedido.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                if !pedido.starts_with(b"GET ") {
                    continue;
                }
                cuenta.fetch_add(1, SeqCst);
                // El cliente puede colgar antes de leerlo todo (p. ej. si es demasiado grande).
                let _ = conn.write_all(&respuesta);
                let _ = conn.shutdown(std::net::Shutdown::Write);
                // Esperamos a que el cliente cierre (con límite) para un cierre limpio.
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            }
        });
        Self {
            url: format!("http://{direccion}/el_quijote.txt"),
            direccion,
            peticiones,
            parar,
            hilo: Some(hilo),
        }
    }

    /// `200 OK` con `Content-Length` y este cuerpo.
    pub fn ok(cuerpo: &[u8]) -> Self {
        Self::crudo(respuesta_http("200 OK", Some(cuerpo.len()), cuerpo))
    }

    /// Cuántas peticiones ha recibido hasta ahora.
    pub fn peticiones(&self) -> usize {
        self.peticiones.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Servidor {
    fn drop(&mut self) {
        self.parar.store(true, std::sync::atomic::Ordering::SeqCst);
        // Una conexión de cortesía despierta al hilo, que está esperando en `accept`.
        let _ = std::net::TcpStream::connect(self.direccion);
        if let Some(hilo) = self.hilo.take() {
            let _ = hilo.join();
        }
    }
}

/// Una respuesta HTTP/1.1 cruda. Sin `Content-Length`, el cuerpo acaba al cerrar la conexión.
pub fn respuesta_http(estado: &str, content_length: Option<usize>, cuerpo: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {estado}\r\nContent-Type: text/plain; charset=utf-8\r\n");
    if let Some(n) = content_length {
        r.push_str(&format!("Content-Length: {n}\r\n"));
    }
    r.push_str("Connection: close\r\n\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(cuerpo);
    r
}

/// Una dirección en la que no escucha nadie: abrimos un puerto libre y lo cerramos.
pub fn url_sin_servidor() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let direccion = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{direccion}/el_quijote.txt")
}

/// Todo lo que hay dentro de `dir` (archivos y carpetas, también ocultos), recursivamente.
pub fn contenido(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut todo = Vec::new();
    if let Ok(entradas) = std::fs::read_dir(dir) {
        for e in entradas.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.extend(contenido(&p));
            }
            todo.push(p);
        }
    }
    todo.sort();
    todo
}

/// Parte la salida de un programa en secciones con nombre, para que cada una sea una
/// instantánea y el libro la incluya entera (nunca por números de línea, que se mueven en
/// silencio). `secciones` da, en orden, el nombre de cada sección y el principio de la línea
/// con la que empieza; la primera empieza al principio de la salida (su marcador, `""`). Cada
/// sección acaba donde empieza la siguiente, sin las líneas en blanco del final. Falla, con la
/// salida entera, si un marcador no está o no llega en su orden.
pub fn partir<'a>(salida: &'a str, secciones: &[(&'a str, &str)]) -> Vec<(&'a str, &'a str)> {
    assert!(
        secciones.first().is_some_and(|(_, m)| m.is_empty()),
        "la primera sección empieza al principio: su marcador es \"\""
    );
    let mut inicios = vec![0];
    for (nombre, marcador) in &secciones[1..] {
        let desde = *inicios.last().unwrap();
        let encontrado = salida[desde..]
            .match_indices(&format!("\n{marcador}"))
            .map(|(i, _)| desde + i + 1)
            .find(|&i| i > desde);
        match encontrado {
            Some(i) => inicios.push(i),
            None => panic!(
                "\nla sección «{nombre}» debía empezar con una línea «{marcador}…» después de \
                 la sección anterior, y no está. La salida entera:\n{salida}"
            ),
        }
    }
    inicios.push(salida.len());
    secciones
        .iter()
        .zip(inicios.windows(2))
        .map(|((nombre, _), w)| (*nombre, salida[w[0]..w[1]].trim_end()))
        .collect()
}

/// Una instantánea por sección: `prefijo_nombre`.
#[macro_export]
macro_rules! instantaneas_por_seccion {
    ($prefijo:expr, $salida:expr, $secciones:expr) => {
        for (nombre, texto) in comun::partir($salida, $secciones) {
            assert!(!texto.is_empty(), "la sección «{nombre}» está vacía");
            insta::assert_snapshot!(format!("{}_{nombre}", $prefijo), texto);
        }
    };
}

/// Exige que cada línea quepa en 80 columnas (las marcas combinantes no ocupan columna), como
/// las salidas que enseña el libro.
pub fn cabe_en_80_columnas(texto: &str) {
    use gpt_desde_cero::tools::pretty::is_combining;
    for linea in texto.lines() {
        let columnas = linea.chars().filter(|&c| !is_combining(c)).count();
        assert!(
            columnas <= 80,
            "una línea ocupa {columnas} columnas (máximo 80):\n{linea}\n\nen:\n{texto}"
        );
    }
}

/// El número que sigue a `after` en `text` (la primera vez que aparece), con punto decimal.
pub fn number_after(text: &str, after: &str) -> f64 {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("no aparece «{after}» en:\n{text}"))
        + after.len();
    let tail = text[start..].trim_start();
    // Los programas escriben con la norma del libro: «2,2572», «12\u{202F}020».
    let end = tail
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '\u{202F}'))
        .unwrap_or(tail.len());
    let end = tail[..end].trim_end_matches(',').len();
    tail[..end]
        .replace('\u{202F}', "")
        .replace(',', ".")
        .parse()
        .unwrap_or_else(|_| panic!("tras «{after}» no hay un número: {tail:.40}"))
}

/// Una página del libro (`book/src/<nombre>`).
pub fn book_page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book/src")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Un número como lo escribe el libro: coma decimal y `decimals` cifras.
pub fn spanish(x: f64, decimals: usize) -> String {
    gpt_desde_cero::tools::pretty::decimal(x, decimals)
}

/// La línea del libro que empieza por `start` (una fila de tabla, por ejemplo).
pub fn book_line<'a>(page: &'a str, start: &str) -> &'a str {
    page.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("el libro no tiene una línea que empiece por «{start}»"))
}

/// Termina con `code`, sin pánico ni aborto, y la salida de errores dice cada uno de `dice`
/// (y no repite como «causa» lo que ya dice el error). Devuelve la salida de errores.
pub fn assert_falla(out: &Output, code: i32, dice: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "salida de errores:\n{stderr}"
    );
    assert_sin_panico(&stderr);
    for d in dice {
        assert!(stderr.contains(d), "falta «{d}» en:\n{stderr}");
    }
    if let Some(error) = stderr.lines().find(|l| l.starts_with("error: ")) {
        for causa in stderr.lines().filter_map(|l| l.strip_prefix("  causa: ")) {
            assert!(!error.contains(causa), "causa repetida:\n{stderr}");
        }
    }
    stderr
}

/// Ni pánico, ni aborto, ni la ayuda de clap en inglés.
pub fn assert_sin_panico(stderr: &str) {
    for malo in [
        "panicked",
        "RUST_BACKTRACE",
        "thread 'main'",
        "memory allocation",
        "Usage:",
    ] {
        assert!(!stderr.contains(malo), "«{malo}» en:\n{stderr}");
    }
}
