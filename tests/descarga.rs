//! La descarga del corpus, con el código de verdad (`download::load_with` y `download::Download`)
//! contra un servidor HTTP de verdad en 127.0.0.1 que arranca cada prueba. Tras cada fallo, la
//! carpeta de la caché no debe existir siquiera: ni archivo a medias, ni temporal, ni carpeta.

mod comun;

use std::path::{Path, PathBuf};
use std::time::Duration;

use comun::{Servidor, contenido, respuesta_http, url_sin_servidor};
use gpt_desde_cero::tools::download::{self, CorpusError, Download, Source};

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
    let cache = dir.path().join("datos").join(download::FILE_NAME);
    (dir, cache)
}

/// Descarga con `servidor` (o `url`) y devuelve el error, comprobando que no quedó nada.
fn falla(url: &str) -> CorpusError {
    let (dir, cache) = cache();
    let err =
        download::load_with(None, &cache, &descarga(url)).expect_err("la descarga debía fallar");
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

    let c = download::load_with(None, &cache, &d).unwrap();
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
    // La caché es un archivo normal, con los permisos de cualquier archivo nuevo (0644 con la
    // umask habitual), como los puntos de control.
    #[cfg(unix)]
    assert_eq!(permisos(&cache), permisos_de_un_archivo_nuevo(dir.path()));
    // Ni temporales ni restos: solo la carpeta y el archivo de la caché.
    assert_eq!(
        contenido(dir.path()),
        vec![dir.path().join("datos"), cache.clone()]
    );

    // La segunda vez no toca la red.
    let c = download::load_with(None, &cache, &d).unwrap();
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
    let c = download::load_with(Some(&local), &cache, &d).unwrap();
    assert_eq!(c.text, "Otro libro");
    assert_eq!(servidor.peticiones(), 1);
}

#[test]
fn descarga_sin_content_length_justo_en_el_limite() {
    let cuerpo = "ñ".repeat(LIMITE as usize / 2); // exactamente LIMITE bytes
    let servidor = Servidor::crudo(respuesta_http("200 OK", None, cuerpo.as_bytes()));
    let (_dir, cache) = cache();
    let c = download::load_with(None, &cache, &descarga(&servidor.url)).unwrap();
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
            assert_eq!(status, "404: esa dirección no existe (Not Found)");
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
    let err = download::load_with(None, &cache, &d).unwrap_err();
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
    let err = download::load_with(None, &cache, &d).unwrap_err();
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
    let err = download::load_with(None, &cache, &d).unwrap_err();
    assert!(inicio.elapsed() < Duration::from_secs(4), "{err}");
    assert!(matches!(err, CorpusError::TimedOut { .. }), "{err:?}");
    assert_mensaje(&err, "no terminó en 1,5 s");
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
            expected: Some(download::EXPECTED),
            ..descarga(&servidor.url)
        };
        let err = download::load_with(None, &cache, &d).unwrap_err();
        assert!(matches!(err, CorpusError::NotExpected { .. }), "{err:?}");
        assert_mensaje(&err, "no es el Quijote esperado");
        assert_nada(dir.path());
    }
    assert_eq!(
        download::Download::new(download::URL).expected,
        Some(download::EXPECTED)
    );
    assert_eq!(download::Download::new("http://otra/url").expected, None);
}

#[test]
fn una_cache_danada_se_rechaza_diciendo_como_volver_a_descargarla() {
    let (dir, cache) = cache();
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    let d = Download {
        expected: Some(download::EXPECTED),
        ..descarga(&url_sin_servidor())
    };
    // Cortada a la mitad, vacía, o con bytes que no son UTF-8.
    for contenido_malo in [&TEXTO.as_bytes()[..20], b"", b"abc\xff"] {
        std::fs::write(&cache, contenido_malo).unwrap();
        let err = download::load_with(None, &cache, &d).unwrap_err();
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
    let cache = dir.path().join(download::FILE_NAME);
    std::fs::create_dir(&cache).unwrap();
    std::fs::write(cache.join("algo"), "x").unwrap();
    let err = download::load_with(None, &cache, &descarga(&servidor.url)).unwrap_err();
    assert!(matches!(err, CorpusError::Cache { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("no se pudo escribir la caché en «")
            && err.to_string().contains("es una carpeta, no un archivo"),
        "{err}"
    );
    // Se sabe antes de descargar: ni una petición.
    assert_eq!(servidor.peticiones(), 0);
    // Ningún temporal al lado.
    assert_eq!(
        contenido(dir.path()),
        vec![cache.clone(), cache.join("algo")]
    );
}

#[test]
fn si_no_se_puede_guardar_no_queda_ni_la_carpeta() {
    // Las carpetas de la caché se crean antes de descargar (para comprobar que se puede
    // escribir en ellas); si después falla el guardado, se borran las que se acababan de crear.
    // Un nombre con un byte NUL es una forma segura (también como root) de que falle el último
    // paso, el renombrado.
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("nueva").join("mas").join("el\0quijote.txt");
    let err = download::load_with(None, &cache, &descarga(&servidor.url)).unwrap_err();
    assert!(matches!(err, CorpusError::Cache { .. }), "{err:?}");
    assert_eq!(servidor.peticiones(), 1);
    assert_nada(dir.path());
}

/// Los permisos (los 9 bits de rwx) de un archivo.
#[cfg(unix)]
fn permisos(ruta: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(ruta).unwrap().permissions().mode() & 0o777
}

/// Los permisos con los que nace un archivo cualquiera en `dir`: 0666 menos la umask.
#[cfg(unix)]
fn permisos_de_un_archivo_nuevo(dir: &Path) -> u32 {
    let prueba = dir.join("prueba-de-permisos");
    std::fs::write(&prueba, b"x").unwrap();
    let modo = permisos(&prueba);
    std::fs::remove_file(&prueba).unwrap();
    modo
}

/// Una respuesta `200 OK` sin `Content-Type` ni `Content-Length` (acaba al cerrar).
fn respuesta_sin_tipo(cuerpo: &[u8]) -> Vec<u8> {
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".as_slice(),
        cuerpo,
    ]
    .concat()
}

#[test]
fn un_cuerpo_mas_corto_que_su_content_length_no_se_guarda() {
    // Con una dirección propia: promete 1000 bytes y manda un texto entero de menos.
    for cuerpo in [&b"En un luga"[..], TEXTO.as_bytes()] {
        let servidor = Servidor::crudo(respuesta_http("200 OK", Some(1000), cuerpo));
        let err = falla(&servidor.url);
        match &err {
            CorpusError::Truncated { received, expected } => {
                assert_eq!(*received, cuerpo.len() as u64);
                assert_eq!(expected, "1000");
            }
            otro => panic!("se esperaba Truncated, llegó {otro:?}"),
        }
    }
    // Con `Transfer-Encoding: chunked`, el cliente HTTP ignora el `Content-Length`: un cuerpo
    // completo según sus trozos, pero más corto (o más largo) que lo anunciado, tampoco vale.
    let troceado = |anunciado: usize, cuerpo: &[u8]| {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {anunciado}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            cuerpo.len()
        )
        .into_bytes();
        r.extend_from_slice(cuerpo);
        r.extend_from_slice(b"\r\n0\r\n\r\n");
        r
    };
    let servidor = Servidor::crudo(troceado(1000, TEXTO.as_bytes()));
    let err = falla(&servidor.url);
    assert!(
        matches!(err, CorpusError::Truncated { .. }),
        "se esperaba Truncated, llegó {err:?}"
    );
    assert_mensaje(&err, "la descarga se cortó");
    let servidor = Servidor::crudo(troceado(10, TEXTO.as_bytes()));
    let err = falla(&servidor.url);
    assert!(
        matches!(err, CorpusError::LengthMismatch { declared: 10, .. }),
        "{err:?}"
    );
    assert_mensaje(&err, "anuncia 10 bytes (Content-Length)");
}

#[test]
fn una_pagina_web_sin_content_type_se_reconoce_por_su_contenido() {
    let paginas: [&[u8]; 6] = [
        b"<html><body>Inicia sesion</body></html>",
        b"\xEF\xBB\xBF\n  <!DOCTYPE html>\n<html lang=\"es\"><head></head></html>",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\"></html>",
        b"<!-- portal cautivo -->\n<HTML><HEAD><TITLE>Wifi</TITLE></HEAD></HTML>",
        b"<head><meta charset=\"utf-8\"><title>Acceso</title></head><body><p>Acepta</p></body>",
        b"\r\n\r\n<body onload=\"document.forms[0].submit()\"><form></form></body>",
    ];
    for pagina in paginas {
        for respuesta in [
            respuesta_sin_tipo(pagina),
            respuesta_http("200 OK", Some(pagina.len()), pagina),
        ] {
            let servidor = Servidor::crudo(respuesta);
            let err = falla(&servidor.url);
            assert!(
                matches!(err, CorpusError::NotText { .. }),
                "{}: {err:?}",
                String::from_utf8_lossy(pagina)
            );
            assert_mensaje(&err, "es una página web");
        }
    }
    // Por la cabecera, en cualquier forma: XHTML, o en mayúsculas.
    for tipo in ["application/xhtml+xml", "TEXT/HTML; charset=UTF-8"] {
        let respuesta = format!("HTTP/1.1 200 OK\r\nContent-Type: {tipo}\r\n\r\n{TEXTO}");
        let servidor = Servidor::crudo(respuesta.into_bytes());
        let err = falla(&servidor.url);
        assert!(
            matches!(err, CorpusError::NotText { .. }),
            "{tipo}: {err:?}"
        );
    }
}

#[test]
fn un_texto_que_no_es_una_pagina_se_guarda_aunque_no_tenga_tipo() {
    // Un texto que empieza por «<» o que habla de HTML no es una página web; uno corto se
    // guarda (se rechaza al usarlo si no llega para el bloque).
    for texto in [
        "<Capítulo primero>\nEn un lugar de la Mancha…\n",
        "Este libro no usa <html> ni <body>.\n",
        "0123456789",
    ] {
        let servidor = Servidor::crudo(respuesta_sin_tipo(texto.as_bytes()));
        let (_dir, cache) = cache();
        let c = download::load_with(None, &cache, &descarga(&servidor.url)).unwrap();
        assert_eq!(c.text, texto);
        assert_eq!(std::fs::read_to_string(&cache).unwrap(), texto);
    }
}

#[test]
fn una_carpeta_de_datos_que_es_un_archivo_se_dice_antes_de_descargar() {
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let archivo = dir.path().join("datos");
    std::fs::write(&archivo, "no soy carpeta").unwrap();
    let cache = archivo.join(download::FILE_NAME);
    let err = download::load_with(None, &cache, &descarga(&servidor.url)).unwrap_err();
    assert!(matches!(err, CorpusError::CacheDir { .. }), "{err:?}");
    assert_mensaje(&err, "es un archivo, no una carpeta");
    assert_mensaje(&err, download::DATA_DIR_VAR);
    assert!(!err.to_string().contains("ya existe"), "{err}");
    assert_eq!(servidor.peticiones(), 0, "se sabe antes de descargar");
    assert_eq!(std::fs::read_to_string(&archivo).unwrap(), "no soy carpeta");

    // Lo mismo con el programa, por la variable de entorno: código 1 y el mensaje claro.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_01_datos"))
        .env(download::DATA_DIR_VAR, &archivo)
        .env(download::URL_VAR, &servidor.url)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    comun::assert_falla(
        &out,
        1,
        &[
            "como carpeta de la caché del corpus",
            "es un archivo, no una carpeta",
        ],
    );
    assert_eq!(servidor.peticiones(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn una_carpeta_de_datos_donde_no_se_puede_escribir_se_dice_antes_de_descargar() {
    // En /proc/self no se pueden crear archivos, ni siquiera como root.
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let cache = Path::new("/proc/self").join(download::FILE_NAME);
    let err = download::load_with(None, &cache, &descarga(&servidor.url)).unwrap_err();
    assert!(matches!(err, CorpusError::CacheDir { .. }), "{err:?}");
    assert_mensaje(
        &err,
        "no se puede usar «/proc/self» como carpeta de la caché",
    );
    assert_eq!(servidor.peticiones(), 0, "se sabe antes de descargar");
}

#[test]
fn los_temporales_que_deja_un_kill_9_en_la_cache_se_borran() {
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let d = descarga(&servidor.url);
    let (dir, cache) = cache();
    let datos = cache.parent().unwrap();
    std::fs::create_dir_all(datos).unwrap();
    let prefijo = gpt_desde_cero::tools::resources::TEMP_PREFIX;
    let sufijo = gpt_desde_cero::tools::resources::TEMP_SUFFIX;
    let resto = datos.join(format!("{prefijo}kill9{sufijo}"));
    let ajeno = datos.join("notas.tmp");
    // Al descargar…
    std::fs::write(&resto, vec![0u8; 4096]).unwrap();
    std::fs::write(&ajeno, "mío").unwrap();
    download::load_with(None, &cache, &d).unwrap();
    assert!(!resto.exists());
    // … y al usar la caché.
    std::fs::write(&resto, vec![0u8; 4096]).unwrap();
    let c = download::load_with(None, &cache, &d).unwrap();
    assert_eq!(c.source, Source::Cache(cache.clone()));
    assert!(!resto.exists());
    assert_eq!(
        contenido(dir.path()),
        vec![datos.to_path_buf(), cache.clone(), ajeno.clone()],
        "solo se borran nuestros temporales"
    );

    // El programa lo cuenta.
    std::fs::write(&resto, vec![0u8; 4096]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_01_datos"))
        .env(download::DATA_DIR_VAR, datos)
        .env(download::URL_VAR, &servidor.url)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Borrados en «{}» los temporales de una escritura que no terminó (4,0 KiB).",
            datos.display()
        )),
        "{stderr}"
    );
    assert!(!resto.exists());
    assert_eq!(servidor.peticiones(), 1);
}

#[cfg(unix)]
#[test]
fn la_cache_respeta_la_umask() {
    // Con `umask 077`, nadie más que su dueño debe poder leer lo que escribe un programa.
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let (_dir, cache) = cache();
    let out = std::process::Command::new("sh")
        .args(["-c", "umask 077; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_01_datos"))
        .env(download::DATA_DIR_VAR, cache.parent().unwrap())
        .env(download::URL_VAR, &servidor.url)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&cache).unwrap(), TEXTO.as_bytes());
    assert_eq!(permisos(&cache), 0o600, "permisos {:o}", permisos(&cache));
}

#[test]
fn los_errores_de_red_se_dicen_en_espanol() {
    // Ni el texto de reqwest ni el del sistema: en español, con el término técnico entre
    // paréntesis.
    let ingles = [
        "error sending request",
        "client error",
        "tcp connect error",
        "Connection refused",
        "os error",
        "builder error",
        "relative URL",
        "scheme",
    ];
    let casos = [
        (
            url_sin_servidor(),
            "nadie escucha en esa dirección (connection refused)",
        ),
        (
            "esto no es una URL".to_string(),
            "la URL no es válida: le falta el protocolo (debe empezar por http:// o https://)",
        ),
        (
            "ftp://127.0.0.1/el_quijote.txt".to_string(),
            "la URL no es válida: solo se admiten http:// y https://, no ftp://",
        ),
        (
            "http://127.0.0.1:99999/el_quijote.txt".to_string(),
            "la URL no es válida: el puerto no es válido (invalid port)",
        ),
    ];
    // Un servidor que solo habla http, por https: falla el cifrado.
    let servidor = Servidor::ok(TEXTO.as_bytes());
    let https = servidor.url.replacen("http://", "https://", 1);
    let casos = casos
        .into_iter()
        .chain([(https, "falló la conexión segura (TLS)")]);
    for (url, dice) in casos {
        let err = falla(&url);
        assert!(matches!(err, CorpusError::Network { .. }), "{err:?}");
        assert_mensaje(&err, dice);
        let msg = err.to_string();
        for e in ingles {
            assert!(!msg.contains(e), "«{e}» en: {msg}");
        }
    }
}
