//! Los programas de los capítulos ante entradas malas: salen con código distinto de cero, con
//! un mensaje en español que nombra el problema, sin pánico y sin dejar nada detrás.

mod comun;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use comun::{
    Servidor, assert_falla, assert_sin_panico, contenido, respuesta_http, run_chapter,
    url_sin_servidor,
};
use gpt_desde_cero::tools::download;

const DATOS: &str = env!("CARGO_BIN_EXE_01_datos");
const CODIFICACION: &str = env!("CARGO_BIN_EXE_02_codificacion");
const TENSORES: &str = env!("CARGO_BIN_EXE_03_tensores");
const LOTES: &str = env!("CARGO_BIN_EXE_04_lotes");
const TODOS: [&str; 4] = [DATOS, CODIFICACION, TENSORES, LOTES];

/// Un texto corto pero suficiente para todos los capítulos con sus valores por defecto.
const TEXTO: &str = "En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho \
                     tiempo que vivía un hidalgo de los de lanza en astillero, adarga antigua, \
                     rocín flaco y galgo corredor. ¿Hola? ¡Sí!\n";

/// Ejecuta `bin` con una caché vacía propia y una URL en la que no escucha nadie (salvo que
/// se indique otra): así ninguna prueba toca `datos/` ni la red de verdad. Devuelve la salida
/// y comprueba que la carpeta de la caché sigue vacía.
fn run_aislado(bin: &str, args: &[&str]) -> Output {
    let datos = tempfile::tempdir().unwrap();
    let url = url_sin_servidor();
    let out = run_chapter(
        bin,
        args,
        &[
            (download::DATA_DIR_VAR, datos.path()),
            (download::URL_VAR, Path::new(&url)),
        ],
    );
    assert_eq!(contenido(datos.path()), Vec::<std::path::PathBuf>::new());
    out
}

fn archivo(dir: &Path, nombre: &str, bytes: &[u8]) -> String {
    let p = dir.join(nombre);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn corpus_que_no_existe() {
    let dir = tempfile::tempdir().unwrap();
    let ruta = dir.path().join("no-existe.txt");
    let ruta = ruta.to_str().unwrap();
    for bin in TODOS {
        let out = run_aislado(bin, &["--corpus", ruta]);
        assert_falla(
            &out,
            1,
            &[
                "error: no se pudo leer el corpus",
                "no-existe.txt",
                "no existe",
            ],
        );
    }
    assert_eq!(contenido(dir.path()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn corpus_que_es_una_carpeta() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_aislado(DATOS, &["--corpus", dir.path().to_str().unwrap()]);
    assert_falla(&out, 1, &["no se pudo leer el corpus", "es una carpeta"]);
}

#[test]
fn corpus_que_no_es_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let ruta = archivo(dir.path(), "latin1.txt", b"Espa\xf1a");
    for bin in TODOS {
        let out = run_aislado(bin, &["--corpus", &ruta]);
        assert_falla(
            &out,
            1,
            &[
                "no es texto UTF-8 válido",
                "posición 4",
                "latin1.txt",
                "guárdalo como UTF-8",
            ],
        );
    }
}

#[test]
fn corpus_vacio() {
    let dir = tempfile::tempdir().unwrap();
    let ruta = archivo(dir.path(), "vacio.txt", b"");
    for bin in TODOS {
        let out = run_aislado(bin, &["--corpus", &ruta]);
        assert_falla(&out, 1, &["vacio.txt", "está vacío", "--corpus"]);
    }
}

#[test]
fn argumento_desconocido() {
    for bin in TODOS {
        let out = run_aislado(bin, &["--corpu", "x"]);
        let stderr = assert_falla(
            &out,
            2,
            &[
                "error: argumento desconocido «--corpu»",
                "¿quisiste decir «--corpus»?",
                "Uso:",
                "[OPCIONES]",
                "Prueba con --help",
            ],
        );
        assert!(!stderr.contains("Usage"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn valores_no_validos() {
    let out = run_aislado(LOTES, &["--bloque", "ocho"]);
    assert_falla(
        &out,
        2,
        &[
            "valor no válido «ocho» para --bloque",
            "no es un número entero",
        ],
    );
    let out = run_aislado(LOTES, &["--lote", "99999999999999999999999"]);
    assert_falla(&out, 2, &["el número es demasiado grande"]);
    let out = run_aislado(DATOS, &["--corpus"]);
    assert_falla(&out, 2, &["falta el valor de --corpus"]);
}

#[test]
fn bloque_mas_largo_que_el_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let ruta = archivo(dir.path(), "corto.txt", "hola, señor".as_bytes());
    let out = run_aislado(LOTES, &["--corpus", &ruta, "--bloque", "50"]);
    assert_falla(
        &out,
        1,
        &["la parte de entrenamiento tiene", "--bloque menor"],
    );
}

#[test]
fn texto_fuera_del_vocabulario() {
    let dir = tempfile::tempdir().unwrap();
    let ruta = archivo(dir.path(), "corpus.txt", TEXTO.as_bytes());
    let out = run_aislado(CODIFICACION, &["--corpus", &ruta, "--texto", "kiwi"]);
    assert_falla(
        &out,
        1,
        &["«k» (U+006B) en la posición 0 no está en el vocabulario"],
    );
}

#[test]
fn ayuda_en_espanol() {
    for bin in TODOS {
        let out = run_aislado(bin, &["--help"]);
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8(out.stdout).unwrap();
        for d in [
            "Uso:",
            "[OPCIONES]",
            "Opciones:",
            "--corpus <RUTA>",
            "Muestra esta ayuda",
        ] {
            assert!(stdout.contains(d), "falta «{d}» en la ayuda:\n{stdout}");
        }
        for en in ["Usage", "Options", "[default", "Print help"] {
            assert!(!stdout.contains(en), "ayuda en inglés («{en}»):\n{stdout}");
        }
    }
    let out = run_aislado(LOTES, &["-h"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("[por defecto: 1337]"), "{stdout}");
}

#[test]
fn descarga_fallida_por_el_entorno() {
    let servidor = Servidor::crudo(respuesta_http("404 Not Found", Some(9), b"no existe"));
    let datos = tempfile::tempdir().unwrap();
    let cache_dir = datos.path().join("cache");
    let url = servidor.url.clone();
    let out = run_chapter(
        DATOS,
        &[],
        &[
            (download::DATA_DIR_VAR, &cache_dir),
            (download::URL_VAR, Path::new(&url)),
        ],
    );
    assert_falla(
        &out,
        1,
        &["el servidor respondió «404", &url, "--corpus <RUTA>"],
    );
    assert!(out.stdout.is_empty());
    assert_eq!(servidor.peticiones(), 1);
    assert_eq!(contenido(datos.path()), Vec::<std::path::PathBuf>::new());

    // Sin nadie escuchando, lo mismo.
    let url = url_sin_servidor();
    let out = run_chapter(
        DATOS,
        &[],
        &[
            (download::DATA_DIR_VAR, &cache_dir),
            (download::URL_VAR, Path::new(&url)),
        ],
    );
    assert_falla(&out, 1, &["no se pudo conectar con", "--corpus <RUTA>"]);
    assert_eq!(contenido(datos.path()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn descarga_por_el_entorno_y_despues_cache() {
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let datos = tempfile::tempdir().unwrap();
    let cache_dir = datos.path().join("cache");
    let cache = cache_dir.join(download::FILE_NAME);
    let url = servidor.url.clone();
    let env = [
        (download::DATA_DIR_VAR, cache_dir.as_path()),
        (download::URL_VAR, Path::new(&url)),
    ];

    let out = run_chapter(DATOS, &["--mostrar", "11"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Corpus: descargado de"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let chars = TEXTO.chars().count();
    assert!(
        stdout.contains(&format!("Caracteres del texto: {chars}")),
        "{stdout}"
    );
    assert!(stdout.contains("En un lugar\n"), "{stdout}");
    assert_eq!(std::fs::read(&cache).unwrap(), TEXTO.as_bytes());
    assert_eq!(servidor.peticiones(), 1);
    assert_eq!(
        contenido(datos.path()),
        vec![cache_dir.clone(), cache.clone()]
    );

    // La segunda vez, y con otro capítulo, se usa la caché: el servidor no ve nada.
    for bin in [DATOS, CODIFICACION] {
        let out = run_chapter(bin, &[], &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("Corpus: caché"), "{stderr}");
    }
    assert_eq!(servidor.peticiones(), 1);
}

#[test]
fn salida_cerrada_no_es_un_panico() {
    // Como `01_datos | head -c 10`: el lector cierra la tubería sin leer. Con una salida mucho
    // mayor que el búfer de la tubería (64 KiB), el programa tiene que escribir con la tubería
    // ya cerrada, llegue antes o después nuestro cierre: lo normal en Unix es que termine por
    // SIGPIPE, en silencio, como `cat` o `grep`. Los capítulos de salida corta quizá terminen
    // antes de que cerremos: de ellos solo exigimos que no entren en pánico.
    let dir = tempfile::tempdir().unwrap();
    let ruta = archivo(dir.path(), "corpus.txt", TEXTO.repeat(10_000).as_bytes());
    let url = url_sin_servidor();
    let casos: [(&str, &[&str], bool); 4] = [
        (DATOS, &["--mostrar", "10000000"], true),
        (TENSORES, &["--mostrar", "10000000"], true),
        (CODIFICACION, &[], false),
        (LOTES, &[], false),
    ];
    for (bin, args, salida_larga) in casos {
        let mut child = Command::new(bin)
            .args(["--corpus", &ruta])
            .args(args)
            .env(download::DATA_DIR_VAR, dir.path().join("cache"))
            .env(download::URL_VAR, &url)
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_sin_panico(&stderr);
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            let sigpipe = out.status.signal() == Some(libc::SIGPIPE);
            if salida_larga {
                assert!(sigpipe, "{bin}: {:?}\n{stderr}", out.status);
            } else {
                assert!(
                    sigpipe || out.status.success(),
                    "{bin}: {:?}\n{stderr}",
                    out.status
                );
            }
        }
        #[cfg(not(unix))]
        assert_ne!(out.status.code(), Some(101), "{stderr}");
    }
    assert!(!dir.path().join("cache").exists());
}
