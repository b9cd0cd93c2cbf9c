//! La descarga del corpus, con el código de verdad (`corpus::load_with` y `corpus::Download`)
//! contra un servidor HTTP de verdad en 127.0.0.1 que arranca cada prueba. Tras cada fallo, la
//! carpeta de la caché no debe existir siquiera: ni archivo a medias, ni temporal, ni carpeta.

mod comun;

use std::path::{Path, PathBuf};
use std::time::Duration;

use comun::{Servidor, contenido, respuesta_http, url_sin_servidor};
use gpt_desde_cero::text::corpus::{self, CorpusError, Download, Source};

/// Un texto pequeño con tildes, eñes, signos de apertura y una tilde combinante (U+0301).
const TEXTO: &str = "En un lugar de la Mancha, de cuyo nombre no quiero acordarme…\n\
                     ¿Año? ¡Ñandú! «Quijote» e\u{301}\n";
/// Límite de tamaño de las pruebas: pequeño, para probar «demasiado grande» con poco.
const LIMITE: u64 = 4096;

fn descarga(url: &str) -> Download {
    Download {
        url: url.to_string(),
        max_bytes: LIMITE,
        connect_timeout: Duration::from_secs(2),
        stall_timeout: Duration::from_secs(3),
        timeout: Duration::from_secs(5),
        expected: None,
    }
}

/// Una carpeta temporal y la ruta de la caché dentro de una subcarpeta que aún no existe.
fn cache() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("datos").join(corpus::FILE_NAME);
    (dir, cache)
}

/// Descarga con `servidor` (o `url`) y devuelve el error, comprobando que no quedó nada.
fn falla(url: &str) -> CorpusError {
    let (dir, cache) = cache();
    let err =
        corpus::load_with(None, &cache, &descarga(url)).expect_err("la descarga debía fallar");
    assert_nada(dir.path());
    err
}

fn assert_nada(dir: &Path) {
    assert_eq!(
        contenido(dir),
        Vec::<PathBuf>::new(),
        "tras un fallo no debe quedar nada en la caché"
    );
}

/// El mensaje está en español y dice cómo seguir (con `--corpus`).
fn assert_mensaje(err: &CorpusError, dice: &str) {
    let msg = err.to_string();
    assert!(msg.contains(dice), "el mensaje no dice «{dice}»: {msg}");
    assert!(
        msg.contains("--corpus"),
        "el mensaje no menciona --corpus: {msg}"
    );
}

#[test]
fn descarga_completa_y_despues_usa_la_cache() {
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let (dir, cache) = cache();
    let d = descarga(&servidor.url);

    let c = corpus::load_with(None, &cache, &d).unwrap();
    assert_eq!(c.text, TEXTO);
    assert_eq!(
        c.source,
        Source::Downloaded {
            url: servidor.url.clone(),
            path: cache.clone()
        }
    );
    assert_eq!(std::fs::read(&cache).unwrap(), TEXTO.as_bytes());
    assert_eq!(servidor.peticiones(), 1);
    // La caché es un archivo normal, legible por todos (0644), como los checkpoints.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "permisos {mode:o}");
    }
    // Ni temporales ni restos: solo la carpeta y el archivo de la caché.
    assert_eq!(
        contenido(dir.path()),
        vec![dir.path().join("datos"), cache.clone()]
    );

    // La segunda vez no toca la red.
    let c = corpus::load_with(None, &cache, &d).unwrap();
    assert_eq!(c.text, TEXTO);
    assert_eq!(c.source, Source::Cache(cache.clone()));
    assert_eq!(
        servidor.peticiones(),
        1,
        "con caché no debe haber peticiones"
    );

    // Y un archivo local gana a todo, también sin tocar la red.
    let local = dir.path().join("otro.txt");
    std::fs::write(&local, "Otro libro").unwrap();
    let c = corpus::load_with(Some(&local), &cache, &d).unwrap();
    assert_eq!(c.text, "Otro libro");
    assert_eq!(servidor.peticiones(), 1);
}

#[test]
fn descarga_sin_content_length_justo_en_el_limite() {
    let cuerpo = "ñ".repeat(LIMITE as usize / 2); // exactamente LIMITE bytes
    let servidor = Servidor::crudo(respuesta_http("200 OK", None, cuerpo.as_bytes()));
    let (_dir, cache) = cache();
    let c = corpus::load_with(None, &cache, &descarga(&servidor.url)).unwrap();
    assert_eq!(c.text, cuerpo);
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), cuerpo);
}

#[test]
fn error_404() {
    let servidor = Servidor::crudo(respuesta_http("404 Not Found", Some(9), b"no existe"));
    let err = falla(&servidor.url);
    match &err {
        CorpusError::Http { url, status } => {
            assert_eq!(url, &servidor.url);
            assert!(status.starts_with("404"), "{status}");
        }
        otro => panic!("se esperaba Http, llegó {otro:?}"),
    }
    assert_mensaje(&err, "el servidor respondió «404");
    assert_eq!(servidor.peticiones(), 1);
}

#[test]
fn error_500() {
    let servidor = Servidor::crudo(respuesta_http("500 Internal Server Error", Some(0), b""));
    let err = falla(&servidor.url);
    assert!(matches!(err, CorpusError::Http { .. }), "{err:?}");
}

#[test]
fn conexion_cortada_a_media_descarga() {
    // Promete 1000 bytes, manda 10 y cierra.
    let servidor = Servidor::crudo(respuesta_http("200 OK", Some(1000), b"En un luga"));
    let err = falla(&servidor.url);
    match &err {
        CorpusError::Truncated { received, expected } => {
            assert_eq!(*received, 10);
            assert_eq!(expected, "1000");
        }
        otro => panic!("se esperaba Truncated, llegó {otro:?}"),
    }
    assert_mensaje(&err, "la descarga se cortó: llegaron 10 bytes de 1000");
}

#[test]
fn no_es_utf8() {
    let servidor = Servidor::ok(b"En un lugar \xff de la Mancha");
    let err = falla(&servidor.url);
    assert!(
        matches!(err, CorpusError::DownloadNotUtf8 { position: 12 }),
        "{err:?}"
    );
    assert_mensaje(
        &err,
        "no es texto UTF-8 válido (byte inválido en la posición 12)",
    );
}

#[test]
fn demasiado_grande_segun_content_length() {
    let cuerpo = vec![b'a'; LIMITE as usize + 1];
    let servidor = Servidor::ok(&cuerpo);
    let err = falla(&servidor.url);
    assert!(
        matches!(err, CorpusError::TooLarge { limit: LIMITE }),
        "{err:?}"
    );
    assert_mensaje(&err, "supera el límite de 4096 bytes");
}

#[test]
fn demasiado_grande_sin_content_length() {
    // Sin Content-Length el cuerpo acaba al cerrar: hay que cortar al pasar el límite.
    let cuerpo = vec![b'a'; 4 * LIMITE as usize];
    let servidor = Servidor::crudo(respuesta_http("200 OK", None, &cuerpo));
    let err = falla(&servidor.url);
    assert!(
        matches!(err, CorpusError::TooLarge { limit: LIMITE }),
        "{err:?}"
    );
    assert_mensaje(&err, "supera el límite");
}

#[test]
fn cuerpo_vacio() {
    // Una caché vacía fallaría en cada ejecución: una descarga vacía es un error.
    let servidor = Servidor::ok(b"");
    let err = falla(&servidor.url);
    assert!(matches!(err, CorpusError::DownloadEmpty { .. }), "{err:?}");
    assert_mensaje(&err, "sin contenido");
}

#[test]
fn nadie_escucha() {
    let url = url_sin_servidor();
    let err = falla(&url);
    match &err {
        CorpusError::Network { url: u, .. } => assert_eq!(u, &url),
        otro => panic!("se esperaba Network, llegó {otro:?}"),
    }
    assert_mensaje(&err, "no se pudo conectar con");
}

#[test]
fn el_servidor_no_contesta() {
    // Acepta la conexión (la cola del sistema) pero nunca responde: vence el plazo sin avance.
    let mudo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/el_quijote.txt", mudo.local_addr().unwrap());
    let (dir, cache) = cache();
    let d = Download {
        stall_timeout: Duration::from_millis(500),
        ..descarga(&url)
    };
    let inicio = std::time::Instant::now();
    let err = corpus::load_with(None, &cache, &d).unwrap_err();
    assert!(inicio.elapsed() < Duration::from_secs(3), "{err}");
    assert!(matches!(err, CorpusError::TimedOut { .. }), "{err:?}");
    assert_mensaje(&err, "se agotó el tiempo de espera");
    assert_mensaje(&err, "el servidor no respondió");
    assert_nada(dir.path());
}

/// Un servidor que manda las cabeceras y `cuerpo` de `trozo` en `trozo` bytes, con `pausa`
/// entre trozos (y después se queda callado sin cerrar).
fn servidor_lento(cuerpo: &'static [u8], trozo: usize, pausa: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/el_quijote.txt", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut peticion = [0u8; 4096];
        let _ = conn.read(&mut peticion);
        let cabeceras = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            cuerpo.len() * 10
        );
        let _ = conn.write_all(cabeceras.as_bytes());
        for c in cuerpo.chunks(trozo) {
            if conn.write_all(c).and_then(|_| conn.flush()).is_err() {
                return;
            }
            std::thread::sleep(pausa);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    url
}

#[test]
fn un_cuerpo_que_se_detiene_es_falta_de_tiempo() {
    let url = servidor_lento(TEXTO.as_bytes(), 1000, Duration::ZERO);
    let (dir, cache) = cache();
    let d = Download {
        stall_timeout: Duration::from_millis(500),
        ..descarga(&url)
    };
    let err = corpus::load_with(None, &cache, &d).unwrap_err();
    assert!(matches!(err, CorpusError::TimedOut { .. }), "{err:?}");
    assert_mensaje(&err, "la descarga se detuvo");
    assert_nada(dir.path());
}

#[test]
fn un_goteo_tiene_plazo_total() {
    // Dos bytes cada 100 ms: siempre llega algo, pero el plazo total acaba con él.
    let url = servidor_lento(TEXTO.as_bytes(), 2, Duration::from_millis(100));
    let (dir, cache) = cache();
    let d = Download {
        stall_timeout: Duration::from_millis(800),
        timeout: Duration::from_millis(1500),
        ..descarga(&url)
    };
    let inicio = std::time::Instant::now();
    let err = corpus::load_with(None, &cache, &d).unwrap_err();
    assert!(inicio.elapsed() < Duration::from_secs(4), "{err}");
    assert!(matches!(err, CorpusError::TimedOut { .. }), "{err:?}");
    assert_mensaje(&err, "no terminó en 1.5 s");
    assert_nada(dir.path());
}

#[test]
fn una_pagina_web_no_se_guarda_como_corpus() {
    // El portal de una wifi: 200, con una página HTML (con o sin su tipo en la cabecera).
    let pagina = b"<!DOCTYPE html><html><body>Inicia sesion</body></html>";
    for respuesta in [
        respuesta_http("200 OK", Some(pagina.len()), pagina),
        [
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n".as_slice(),
            b"hola",
        ]
        .concat(),
    ] {
        let servidor = Servidor::crudo(respuesta);
        let err = falla(&servidor.url);
        assert!(matches!(err, CorpusError::NotText { .. }), "{err:?}");
        assert_mensaje(&err, "es una página web");
    }
}

#[test]
fn con_la_url_por_defecto_solo_se_guarda_el_quijote() {
    // 10 bytes, o un cuerpo cortado sin Content-Length: no es el texto esperado.
    for cuerpo in [&b"0123456789"[..], TEXTO.as_bytes()] {
        let servidor = Servidor::crudo(respuesta_http("200 OK", None, cuerpo));
        let (dir, cache) = cache();
        let d = Download {
            expected: Some(corpus::EXPECTED),
            ..descarga(&servidor.url)
        };
        let err = corpus::load_with(None, &cache, &d).unwrap_err();
        assert!(matches!(err, CorpusError::NotExpected { .. }), "{err:?}");
        assert_mensaje(&err, "no es el Quijote esperado");
        assert_nada(dir.path());
    }
    assert_eq!(
        corpus::Download::new(corpus::URL).expected,
        Some(corpus::EXPECTED)
    );
    assert_eq!(corpus::Download::new("http://otra/url").expected, None);
}

#[test]
fn una_cache_danada_se_rechaza_diciendo_como_volver_a_descargarla() {
    let (dir, cache) = cache();
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    let d = Download {
        expected: Some(corpus::EXPECTED),
        ..descarga(&url_sin_servidor())
    };
    // Cortada a la mitad, vacía, o con bytes que no son UTF-8.
    for contenido_malo in [&TEXTO.as_bytes()[..20], b"", b"abc\xff"] {
        std::fs::write(&cache, contenido_malo).unwrap();
        let err = corpus::load_with(None, &cache, &d).unwrap_err();
        assert!(matches!(err, CorpusError::BadCache { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("está dañada") && msg.contains("rm «"), "{msg}");
        assert_eq!(std::fs::read(&cache).unwrap(), contenido_malo, "no se toca");
    }
    drop(dir);
}

#[test]
fn url_no_valida() {
    let err = falla("esto no es una URL");
    assert!(matches!(err, CorpusError::Network { .. }), "{err:?}");
    assert_mensaje(&err, "la URL no es válida");
}

#[test]
fn la_cache_no_se_puede_escribir() {
    // La ruta de la caché es una carpeta: la descarga va bien, pero no se puede guardar.
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join(corpus::FILE_NAME);
    std::fs::create_dir(&cache).unwrap();
    std::fs::write(cache.join("algo"), "x").unwrap();
    let err = corpus::load_with(None, &cache, &descarga(&servidor.url)).unwrap_err();
    assert!(matches!(err, CorpusError::Cache { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("no se pudo escribir la caché"),
        "{err}"
    );
    // Ningún temporal al lado.
    assert_eq!(
        contenido(dir.path()),
        vec![cache.clone(), cache.join("algo")]
    );
}

#[test]
fn si_no_se_puede_guardar_no_queda_ni_la_carpeta() {
    // Las carpetas de la caché se crean solo con la descarga ya validada; si después falla el
    // guardado, se borran las que se acababan de crear. Un nombre con un byte NUL es una forma
    // segura (también como root) de que falle el último paso, el renombrado.
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("nueva").join("mas").join("el\0quijote.txt");
    let err = corpus::load_with(None, &cache, &descarga(&servidor.url)).unwrap_err();
    assert!(matches!(err, CorpusError::Cache { .. }), "{err:?}");
    assert_eq!(servidor.peticiones(), 1);
    assert_nada(dir.path());
}
