//! Nada se pierde: los programas usados como los usa alguien de verdad (números absurdos,
//! carpetas equivocadas, Ctrl-C, un disco lleno, un modelo ya entrenado en la carpeta).
//! Cada caso termina con un código distinto de cero, un mensaje en español que dice qué
//! hacer, ningún pánico y ningún trabajo perdido.

mod comun;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use comun::{assert_falla, real_corpus};
use gpt_desde_cero::tools::checkpoint;
use gpt_desde_cero::tools::resources::{TEMP_PREFIX, TEMP_SUFFIX};

const LOTES: &str = env!("CARGO_BIN_EXE_04_lotes");
const BIGRAM: &str = env!("CARGO_BIN_EXE_05_bigram");
const ATENCION: &str = env!("CARGO_BIN_EXE_06_autoatencion");
const GPT: &str = env!("CARGO_BIN_EXE_07_gpt");

/// Ejecuta un programa sobre el corpus real (ya en la caché).
fn run(bin: &str, args: &[&str]) -> Output {
    real_corpus();
    Command::new(bin)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("no se pudo ejecutar el programa")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "falló:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Un entrenamiento diminuto y corto del GPT en `dir`, con argumentos extra (que cambian
/// los pasos y las estimaciones por defecto de la prueba si los nombran).
fn entrenar(dir: &Path, extra: &[&str]) -> Output {
    let salidas = dir.to_str().unwrap();
    let mut args = vec!["entrenar", "--preset", "diminuto"];
    for (flag, value) in [
        ("--pasos", "6"),
        ("--eval-cada", "3"),
        ("--eval-lotes", "1"),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(&["--salidas", salidas]);
    args.extend_from_slice(extra);
    run(GPT, &args)
}

fn temporales(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(TEMP_PREFIX) || n.ends_with(".tmp")
        })
        .collect()
}

#[test]
fn un_entrenamiento_nuevo_no_borra_un_modelo_entrenado() {
    let dir = tempfile::tempdir().unwrap();
    ok(&entrenar(dir.path(), &[]));
    let last = dir.path().join("gpt.safetensors");
    let best = dir.path().join("gpt-mejor.safetensors");
    let antes = (std::fs::read(&last).unwrap(), std::fs::read(&best).unwrap());

    let out = entrenar(dir.path(), &[]);
    assert_falla(
        &out,
        1,
        &[
            "ya tiene un modelo entrenado",
            "--reanudar",
            "--sobrescribir",
        ],
    );
    let despues = (std::fs::read(&last).unwrap(), std::fs::read(&best).unwrap());
    assert!(antes == despues, "los puntos de control cambiaron");

    // Pedido explícitamente, sí se reemplaza; y reanudar sigue funcionando.
    ok(&entrenar(dir.path(), &["--sobrescribir"]));
    ok(&entrenar(dir.path(), &["--reanudar", "--pasos", "8"]));
    let out = entrenar(dir.path(), &["--reanudar", "--sobrescribir"]);
    assert_falla(&out, 2, &["no se puede usar junto con"]);
}

#[test]
fn reanudar_sin_checkpoint_lo_explica() {
    let dir = tempfile::tempdir().unwrap();
    let out = entrenar(dir.path(), &["--reanudar"]);
    assert_falla(&out, 1, &["no hay nada que reanudar", "gpt.safetensors"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("os error"));
}

#[test]
fn tamanos_absurdos_se_rechazan_con_la_cifra() {
    let dir = tempfile::tempdir().unwrap();
    let inicio = Instant::now();
    for extra in [
        &["--embd", "1000000"][..],
        &["--lote", "18446744073709551615"],
        &["--capas", "1000000"],
    ] {
        let out = entrenar(dir.path(), extra);
        assert_falla(&out, 1, &["memoria"]);
    }
    let out = run(LOTES, &["--lote", "100000000000"]);
    assert_falla(&out, 1, &["un lote de ese tamaño necesita", "de memoria"]);
    let out = run(BIGRAM, &["--lote", "100000000000", "--bloque", "1000"]);
    assert_falla(&out, 1, &["memoria"]);
    let out = run(GPT, &["generar", "--tokens", "18446744073709551615"]);
    assert_falla(&out, 1, &["generar tantos caracteres", "memoria"]);
    // Nada de minutos en silencio: se rechaza antes de reservar nada.
    assert!(
        inicio.elapsed() < Duration::from_secs(60),
        "{:?}",
        inicio.elapsed()
    );
    assert!(temporales(dir.path()).is_empty());
}

#[test]
fn un_disco_lleno_en_la_salida_no_es_un_panico() {
    if !Path::new("/dev/full").exists() {
        panic!("esta prueba necesita /dev/full (Linux)");
    }
    real_corpus();
    for (bin, args) in [(LOTES, &[][..]), (BIGRAM, &["--pasos", "10"][..])] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(bin)
            .args(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_falla(
            &out,
            1,
            &["no se pudo escribir la salida", "no queda espacio"],
        );
    }
}

#[test]
fn max_minutos_se_valida() {
    let dir = tempfile::tempdir().unwrap();
    for m in ["inf", "1e30", "-1", "NaN"] {
        let out = entrenar(dir.path(), &["--max-minutos", m]);
        assert_falla(&out, 2, &["--max-minutos"]);
    }
    assert!(!dir.path().join("gpt.safetensors").exists());
}

#[test]
fn una_perdida_que_diverge_no_termina_con_exito() {
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().join("s");
    let s = salidas.to_str().unwrap();
    let out = run(BIGRAM, &["--lr", "1e30", "--pasos", "300", "--salidas", s]);
    assert_falla(&out, 1, &["número finito", "--lr"]);
    assert!(
        !salidas.join("bigram_ndarray.csv").exists(),
        "curva NaN escrita"
    );
    let args = [
        "--lr",
        "1e30",
        "--pasos",
        "60",
        "--eval-cada",
        "30",
        "--eval-lotes",
        "2",
        "--salidas",
        s,
    ];
    assert_falla(&run(ATENCION, &args), 1, &["número finito"]);
    assert!(!salidas.join("atencion.svg").exists());
    // Cero lotes de evaluación no es una estimación: se rechaza antes de entrenar.
    let out = run(GPT, &["escalera", "--eval-lotes", "0"]);
    assert_falla(&out, 2, &["«0» para --eval-lotes", "debe ser al menos 1"]);
    let out = run(BIGRAM, &["--eval-lotes", "0"]);
    assert_falla(&out, 2, &["«0» para --eval-lotes", "debe ser al menos 1"]);
}

#[test]
fn la_carpeta_de_salida_se_comprueba_antes_de_entrenar() {
    let dir = tempfile::tempdir().unwrap();
    let archivo = dir.path().join("no-soy-carpeta");
    std::fs::write(&archivo, "hola").unwrap();
    let a = archivo.to_str().unwrap();
    let inicio = Instant::now();
    // Con tantos pasos, fallar después de entrenar tardaría horas.
    let out = run(BIGRAM, &["--pasos", "100000000", "--salidas", a]);
    assert_falla(
        &out,
        1,
        &["no-soy-carpeta", "es un archivo, no una carpeta"],
    );
    let out = run(ATENCION, &["--pasos", "100000000", "--salidas", a]);
    assert_falla(&out, 1, &["es un archivo, no una carpeta"]);
    let out = entrenar(&archivo, &["--pasos", "100000000"]);
    assert_falla(&out, 1, &["es un archivo, no una carpeta"]);
    assert!(inicio.elapsed() < Duration::from_secs(60));
    assert_eq!(std::fs::read_to_string(&archivo).unwrap(), "hola");
}

#[test]
fn los_temporales_de_una_escritura_cortada_se_borran() {
    let dir = tempfile::tempdir().unwrap();
    let resto = dir.path().join(format!("{TEMP_PREFIX}kill9{TEMP_SUFFIX}"));
    std::fs::write(&resto, vec![0u8; 4096]).unwrap();
    let out = entrenar(dir.path(), &[]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("temporales"));
    assert!(temporales(dir.path()).is_empty());
}

/// Lanza un entrenamiento largo, espera a su primer punto de control y le manda `senales`
/// SIGINT.
#[cfg(unix)]
fn interrumpir(senales: usize) -> (Output, tempfile::TempDir) {
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(GPT)
        .args(["entrenar", "--preset", "diminuto", "--pasos", "1000000"])
        .args(["--eval-cada", "20", "--eval-lotes", "1", "--salidas"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let last = dir.path().join("gpt.safetensors");
    let limite = Instant::now() + Duration::from_secs(120);
    while !last.exists() {
        assert!(Instant::now() < limite, "el entrenamiento no guardó nada");
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..senales {
        // SAFETY: mandar una señal a un proceso hijo nuestro que sigue vivo.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), dir)
}

#[cfg(unix)]
#[test]
fn dos_ctrl_c_cortan_sin_dejar_temporales() {
    // Un Ctrl-C lo prueba tests/gpt.rs; dos seguidos cortan enseguida, pero nunca a mitad
    // de una escritura: esperan a que termine el punto de control en curso.
    let (out, dir) = interrumpir(2);
    assert_eq!(out.status.code(), Some(130));
    assert!(
        temporales(dir.path()).is_empty(),
        "{:?}",
        temporales(dir.path())
    );
    checkpoint::load(
        &dir.path().join("gpt.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("el punto de control se lee entero");
}

#[test]
fn un_corpus_sin_saltos_de_linea_funciona() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("una_linea.txt");
    std::fs::write(
        &corpus,
        "En un lugar de la Mancha, de cuyo nombre no quiero acordarme. ".repeat(200),
    )
    .unwrap();
    let c = corpus.to_str().unwrap();
    let salidas = dir.path().join("s");
    let s = salidas.to_str().unwrap();
    ok(&run(
        BIGRAM,
        &["--corpus", c, "--pasos", "50", "--salidas", s],
    ));
    ok(&run(
        GPT,
        &[
            "entrenar",
            "--corpus",
            c,
            "--preset",
            "diminuto",
            "--pasos",
            "4",
            "--eval-cada",
            "2",
            "--eval-lotes",
            "1",
            "--salidas",
            s,
        ],
    ));
    let modelo = salidas.join("gpt-mejor.safetensors");
    let out = run(
        GPT,
        &[
            "generar",
            "--checkpoint",
            modelo.to_str().unwrap(),
            "--tokens",
            "20",
        ],
    );
    let texto = ok(&out);
    assert!(texto.chars().count() >= 20, "{texto:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tiene salto de línea"));
}

#[test]
fn codigos_de_salida_y_mensajes() {
    let dir = tempfile::tempdir().unwrap();
    let corto = dir.path().join("corto.txt");
    std::fs::write(&corto, "abc").unwrap();
    assert_falla(
        &run(LOTES, &["--corpus", corto.to_str().unwrap()]),
        1,
        &["corto.txt"],
    );

    // Un número negativo es un valor (y se explica por qué no vale), no una bandera; los
    // rangos se comprueban al leer las opciones, así que es un error de uso (2) en todos.
    assert_falla(
        &run(BIGRAM, &["--lr", "-0.1"]),
        2,
        &["«-0.1» para --lr", "debe ser un número positivo"],
    );
    let out = entrenar(dir.path(), &["--lr", "-0.1"]);
    assert_falla(
        &out,
        2,
        &["«-0.1» para --lr", "debe ser un número positivo"],
    );

    // Un error de valor en una orden muestra el uso de esa orden.
    let out = run(GPT, &["entrenar", "--pasos", "muchos"]);
    assert_falla(
        &out,
        2,
        &["Uso: 07_gpt entrenar [OPCIONES]", "no es un número entero"],
    );

    // Lo que cambió de nombre lo dice.
    let out = run(ATENCION, &["--intervalo-eval", "5"]);
    assert_falla(&out, 2, &["ahora se llama «--eval-cada»"]);
    let out = run(GPT, &["entrenar", "--preset", "semilla"]);
    assert_falla(
        &out,
        2,
        &["la configuración «semilla» ahora se llama «cuaderno»"],
    );
}

// --- descarga y archivos ---

/// Ejecuta `cmd` con un plazo: si no termina a tiempo (se quedó colgado, leyendo un FIFO o
/// /dev/zero), lo mata y la prueba falla en vez de colgarse con él.
fn con_plazo(mut cmd: Command, plazo: Duration) -> Output {
    let mut child = cmd
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("no se pudo ejecutar el programa");
    let inicio = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if inicio.elapsed() > plazo {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} seguía sin terminar a los {} s:\n{}",
                plazo.as_secs(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Un FIFO (tubería con nombre) en `dir`, en el que nadie escribe.
#[cfg(unix)]
fn fifo(dir: &Path, nombre: &str) -> PathBuf {
    let ruta = dir.join(nombre);
    let c = std::ffi::CString::new(ruta.to_str().unwrap()).unwrap();
    // SAFETY: `c` es una cadena C válida.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    ruta
}

#[cfg(unix)]
#[test]
fn un_corpus_que_no_es_un_archivo_normal_se_rechaza_sin_leerlo() {
    let dir = tempfile::tempdir().unwrap();
    let tuberia = fifo(dir.path(), "corpus.txt");
    let casos = [
        (tuberia.to_str().unwrap(), "tubería con nombre (FIFO)"),
        ("/dev/zero", "dispositivo de caracteres"),
    ];
    for (ruta, dice) in casos {
        let salidas = dir.path().join("salidas");
        let salidas = salidas.to_str().unwrap();
        let programas: [(&str, &[&str]); 2] = [
            (LOTES, &["--corpus", ruta]),
            (
                GPT,
                &[
                    "entrenar",
                    "--preset",
                    "diminuto",
                    "--salidas",
                    salidas,
                    "--corpus",
                    ruta,
                ],
            ),
        ];
        for (bin, args) in programas {
            let mut cmd = Command::new(bin);
            cmd.args(args);
            let out = con_plazo(cmd, Duration::from_secs(30));
            assert_falla(
                &out,
                1,
                &[
                    "no se pudo leer el corpus",
                    ruta,
                    "no es un archivo normal",
                    dice,
                ],
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn un_checkpoint_que_no_es_un_archivo_normal_se_rechaza_sin_leerlo() {
    let dir = tempfile::tempdir().unwrap();
    let tuberia = fifo(dir.path(), "gpt.safetensors");
    let casos = [
        (tuberia.to_str().unwrap(), "tubería con nombre (FIFO)"),
        ("/dev/zero", "dispositivo de caracteres"),
    ];
    for (ruta, dice) in casos {
        let mut cmd = Command::new(GPT);
        cmd.args(["generar", "--checkpoint", ruta]);
        let out = con_plazo(cmd, Duration::from_secs(30));
        assert_falla(
            &out,
            1,
            &[
                "no se pudo leer el punto de control",
                ruta,
                "no es un archivo normal",
                dice,
            ],
        );
    }
}

#[cfg(unix)]
#[test]
fn los_checkpoints_respetan_la_umask() {
    // Con `umask 077`, nadie más que su dueño debe poder leer lo que escribe un programa.
    use std::os::unix::fs::PermissionsExt as _;
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let salidas = dir.path().join("salidas");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 077; exec \"$0\" \"$@\""])
        .arg(GPT)
        .args(["entrenar", "--preset", "diminuto", "--pasos", "2"])
        .args(["--eval-cada", "1", "--eval-lotes", "1", "--salidas"])
        .arg(&salidas);
    let out = con_plazo(cmd, Duration::from_secs(300));
    ok(&out);
    let archivos: Vec<PathBuf> = std::fs::read_dir(&salidas)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    assert!(
        archivos.iter().any(|p| p.ends_with("gpt.safetensors")),
        "{archivos:?}"
    );
    for archivo in archivos {
        let modo = std::fs::metadata(&archivo).unwrap().permissions().mode() & 0o777;
        assert_eq!(modo, 0o600, "{}: permisos {modo:o}", archivo.display());
    }
}

// --- tercera vuelta: el modelo que diverge, los tamaños absurdos, una carpeta por proceso ---

/// Ejecuta un programa sobre el corpus real con la salida de errores en `/dev/full`.
fn run_sin_stderr(bin: &str, args: &[&str]) -> Output {
    real_corpus();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("esta prueba necesita /dev/full (Linux)");
    Command::new(bin)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stderr(Stdio::from(full))
        .output()
        .expect("no se pudo ejecutar el programa")
}

#[test]
fn un_entrenamiento_que_diverge_no_guarda_pesos_no_finitos() {
    let dir = tempfile::tempdir().unwrap();
    let out = entrenar(
        dir.path(),
        &["--pasos", "40", "--eval-cada", "1", "--lr", "1000"],
    );
    let stderr = assert_falla(&out, 1, &["dejó de ser un número finito", "--lr"]);
    let last = dir.path().join("gpt.safetensors");
    // Lo que dice el mensaje es verdad: el punto de control que queda es el del paso que
    // nombra, y se carga (la carga rechaza pesos no finitos).
    let paso: usize = stderr
        .split("sigue siendo el del paso ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("el mensaje no dice qué punto de control queda:\n{stderr}"));
    let loaded = checkpoint::load(&last, &candle_core::Device::Cpu).unwrap();
    assert_eq!(loaded.progress.step, paso);
    for p in &loaded.progress.history {
        assert!(p.train.is_finite() && p.val.is_finite(), "{p:?}");
    }
    // Y con él se genera texto de verdad, no una ristra de saltos de línea.
    let l = last.to_str().unwrap();
    let texto = ok(&run(GPT, &["generar", "--checkpoint", l, "--tokens", "50"]));
    assert!(
        texto.chars().filter(|c| *c != '\n').count() >= 40,
        "{texto:?}"
    );
}

#[test]
fn un_checkpoint_editado_o_de_otra_version_se_rechaza() {
    let dir = tempfile::tempdir().unwrap();
    ok(&entrenar(dir.path(), &[]));
    let ckpt = dir.path().join("gpt-mejor.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    // Cambiar a mano `n_layer` de 2 a 1 en la cabecera (mismo tamaño: el archivo sigue siendo
    // un safetensors válido).
    let editar = |de: &str, a: &str| {
        let (de, a) = (de.as_bytes(), a.as_bytes());
        let i = bytes
            .windows(de.len())
            .position(|w| w == de)
            .unwrap_or_else(|| panic!("no encuentro {de:?}"));
        let mut b = bytes.clone();
        b[i..i + de.len()].copy_from_slice(a);
        b
    };
    let editado = dir.path().join("editado.safetensors");
    std::fs::write(&editado, editar("\"n_layer\":\"2\"", "\"n_layer\":\"1\"")).unwrap();
    let e = editado.to_str().unwrap();
    let out = run(GPT, &["generar", "--checkpoint", e]);
    assert_falla(&out, 1, &["está dañado", "suma de comprobación"]);
    let viejo = dir.path().join("viejo.safetensors");
    std::fs::write(
        &viejo,
        editar("gpt-desde-cero/gpt/2", "gpt-desde-cero/gpt/1"),
    )
    .unwrap();
    let out = run(GPT, &["generar", "--checkpoint", viejo.to_str().unwrap()]);
    assert_falla(&out, 1, &["versión anterior", "vuelve a entrenar"]);
    // Un safetensors cortado: el detalle, en español (con el nombre técnico entre paréntesis).
    let cortado = dir.path().join("cortado.safetensors");
    std::fs::write(&cortado, &bytes[..bytes.len() - 100]).unwrap();
    let out = run(GPT, &["generar", "--checkpoint", cortado.to_str().unwrap()]);
    let stderr = assert_falla(&out, 1, &["no es un archivo safetensors válido"]);
    assert!(
        stderr.contains("el archivo termina antes que sus datos"),
        "{stderr}"
    );
}

#[test]
fn tamanos_absurdos_sin_panico_en_ningun_programa() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().to_str().unwrap();
    let maximo = "18446744073709551615";
    for (bin, args) in [
        (BIGRAM, &["--bloque", maximo, "--salidas", s][..]),
        (ATENCION, &["--bloque", maximo, "--salidas", s]),
        (BIGRAM, &["--eval-lotes", maximo, "--salidas", s]),
        (ATENCION, &["--eval-lotes", maximo, "--salidas", s]),
    ] {
        let out = run(bin, args);
        assert_falla(&out, 1, &[]);
    }
    for extra in [
        &["--bloque", maximo][..],
        &["--embd", "4000000000000000000"],
        &["--eval-lotes", maximo],
        &["--eval-lotes", "100000000"],
    ] {
        let out = entrenar(dir.path(), extra);
        assert_falla(&out, 1, &[]);
    }
    assert!(contenido_visible(dir.path()).is_empty());
}

/// Los archivos de `dir` que no son temporales ni el cerrojo.
fn contenido_visible(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[cfg(unix)]
#[test]
fn con_poca_memoria_virtual_se_rechaza_en_vez_de_abortar() {
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().to_str().unwrap();
    // Con 4 GB de memoria virtual (`ulimit -v`), 10⁸ lotes de evaluación no caben: antes, el
    // programa abortaba (134) al reservarlos; el modelo grande tampoco cabe.
    let casos: [&[&str]; 3] = [
        &[BIGRAM, "--eval-lotes", "100000000", "--salidas", s],
        &[
            GPT,
            "entrenar",
            "--preset",
            "diminuto",
            "--eval-lotes",
            "100000000",
            "--salidas",
            s,
        ],
        &[
            GPT,
            "entrenar",
            "--capas",
            "8",
            "--embd",
            "1024",
            "--lote",
            "64",
            "--bloque",
            "256",
            "--salidas",
            s,
        ],
    ];
    for caso in casos {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "ulimit -v 4000000; exec \"$0\" \"$@\""])
            .args(caso)
            .env_remove("RUST_BACKTRACE");
        let out = con_plazo(cmd, Duration::from_secs(120));
        assert_falla(&out, 1, &["memoria"]);
    }
}

#[cfg(unix)]
#[test]
fn una_carpeta_de_salida_es_de_un_solo_proceso() {
    real_corpus();
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().to_str().unwrap();
    // Un entrenamiento largo que guarda puntos de control sin parar.
    let mut primero = Command::new(GPT)
        .args(["entrenar", "--preset", "diminuto", "--pasos", "100000000"])
        .args(["--eval-cada", "1", "--eval-lotes", "1", "--salidas", s])
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = dir.path().join("gpt.safetensors");
    let inicio = Instant::now();
    while !checkpoint.exists() {
        assert!(
            inicio.elapsed() < Duration::from_secs(120),
            "no guarda nada"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // El segundo se niega, diciendo quién la usa, y no toca nada.
    let out = entrenar(dir.path(), &["--sobrescribir"]);
    let pid = format!("PID {}", primero.id());
    assert_falla(&out, 1, &["la está usando otro proceso", &pid, "--salidas"]);
    assert!(primero.try_wait().unwrap().is_none(), "el primero murió");
    // Un cerrojo de un proceso muerto (`kill -9`) no estorba.
    primero.kill().unwrap();
    primero.wait().unwrap();
    ok(&entrenar(dir.path(), &["--sobrescribir"]));
    assert!(temporales(dir.path()).is_empty());
}

#[test]
fn una_carpeta_de_salida_nueva_no_queda_vacia_si_algo_falla() {
    let dir = tempfile::tempdir().unwrap();
    let nueva = dir.path().join("nueva");
    let out = entrenar(&nueva, &["--pasos", "0"]);
    assert_falla(&out, 2, &["«0» para --pasos", "debe ser al menos 1"]);
    assert!(!nueva.exists());
    // Una configuración imposible dice qué campo y con qué opción se cambia.
    let out = entrenar(&nueva, &["--embd", "30", "--cabezas", "4"]);
    assert_falla(
        &out,
        1,
        &[
            "no se puede repartir entre 4 cabezas",
            "cámbialo con --embd",
        ],
    );
    assert!(!nueva.exists());
    let out = entrenar(&nueva, &["--reanudar"]);
    assert_falla(&out, 1, &["no hay nada que reanudar"]);
    assert!(!nueva.exists());
    let out = run(
        ATENCION,
        &["--pasos", "0", "--salidas", nueva.to_str().unwrap()],
    );
    assert_falla(&out, 2, &["«0» para --pasos", "debe ser al menos 1"]);
    assert!(!nueva.exists());
}

#[test]
fn los_temporales_de_05_y_06_se_borran() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().to_str().unwrap();
    for (bin, args) in [
        (
            BIGRAM,
            &["--pasos", "20", "--eval-cada", "10", "--eval-lotes", "2"][..],
        ),
        (
            ATENCION,
            &["--pasos", "20", "--eval-cada", "10", "--eval-lotes", "2"],
        ),
    ] {
        let resto = dir.path().join(format!("{TEMP_PREFIX}kill9{TEMP_SUFFIX}"));
        std::fs::write(&resto, vec![0u8; 4096]).unwrap();
        let mut args = args.to_vec();
        args.extend(["--salidas", s]);
        let out = run(bin, &args);
        ok(&out);
        assert!(String::from_utf8_lossy(&out.stderr).contains("temporales"));
        assert!(temporales(dir.path()).is_empty());
    }
}

#[test]
fn sin_salida_de_errores_no_hay_panico() {
    // Un error de uso, un error de verdad y un programa que termina bien, con la salida de
    // errores en un disco lleno: el código de salida dice lo que pasó.
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().to_str().unwrap();
    for bin in [LOTES, BIGRAM, ATENCION, GPT] {
        assert_eq!(
            run_sin_stderr(bin, &["--nada"]).status.code(),
            Some(2),
            "{bin}"
        );
    }
    let out = run_sin_stderr(GPT, &["generar", "--checkpoint", "/no/existe"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run_sin_stderr(
        BIGRAM,
        &["--pasos", "10", "--eval-lotes", "1", "--salidas", s],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn los_errores_del_sistema_en_espanol() {
    let dir = tempfile::tempdir().unwrap();
    // Un bucle de enlaces simbólicos como corpus.
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let out = run(BIGRAM, &["--corpus", a.to_str().unwrap()]);
    let stderr = assert_falla(&out, 1, &["bucle de enlaces simbólicos"]);
    assert!(!stderr.contains("Too many"), "{stderr}");
    // Un disco lleno al escribir el texto generado.
    let ckpt = dir.path().join("m");
    ok(&entrenar(&ckpt, &[]));
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(GPT)
        .args(["generar", "--tokens", "20", "--checkpoint"])
        .arg(ckpt.join("gpt-mejor.safetensors"))
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let stderr = assert_falla(
        &out,
        1,
        &["no se pudo escribir el texto generado", "no queda espacio"],
    );
    assert!(!stderr.contains("os error"), "{stderr}");
}

#[test]
fn una_temperatura_diminuta_es_la_eleccion_voraz() {
    let dir = tempfile::tempdir().unwrap();
    ok(&entrenar(dir.path(), &[]));
    let ckpt = dir.path().join("gpt-mejor.safetensors");
    let c = ckpt.to_str().unwrap();
    let generar = |extra: &[&str]| {
        let mut args = vec!["generar", "--checkpoint", c, "--tokens", "60"];
        args.extend_from_slice(extra);
        ok(&run(GPT, &args))
    };
    let voraz = generar(&["--top-k", "1", "--semilla", "3"]);
    assert!(
        voraz.chars().filter(|c| *c != '\n').count() >= 50,
        "{voraz:?}"
    );
    assert_eq!(
        generar(&["--temperatura", "1e-38", "--semilla", "3"]),
        voraz
    );
    assert_eq!(
        generar(&["--temperatura", "1e-45", "--semilla", "9"]),
        voraz
    );
}

#[test]
fn las_opciones_numericas_con_coma_o_punto() {
    // Todas las opciones decimales aceptan la coma y el punto, y el `+` de Rust: se leen (el
    // programa falla después, por el corpus que no existe: código 1, no 2).
    let no = ["--corpus", "/no/existe.txt"];
    let casos: [(&str, &[&str]); 4] = [
        (BIGRAM, &["--lr", "0,001", "--pasos", "+5"]),
        (ATENCION, &["--lr", "0,003"]),
        (
            GPT,
            &[
                "entrenar",
                "--lr",
                "0,001",
                "--dropout",
                "0,1",
                "--max-minutos",
                "+0,5",
            ],
        ),
        (GPT, &["escalera", "--pasos", "+3"]),
    ];
    for (bin, args) in casos {
        let mut args = args.to_vec();
        args.extend(no);
        assert_falla(&run(bin, &args), 1, &["no se pudo leer el corpus"]);
    }
    let out = run(
        GPT,
        &[
            "generar",
            "--temperatura",
            "0,8",
            "--checkpoint",
            "/no/existe",
        ],
    );
    assert_falla(&out, 1, &["no existe el punto de control"]);
    // Lo demás se rechaza con una pista (error de uso: 2).
    let out = run(GPT, &["entrenar", "--lr", "1.000,5"]);
    assert_falla(&out, 2, &["--lr", "sin separar los miles"]);
    let out = run(BIGRAM, &["--lr", "rápido"]);
    assert_falla(&out, 2, &["no es un número decimal", "0,001"]);
    // Un valor con guion es el valor de la opción, no otra opción.
    let dir = tempfile::tempdir().unwrap();
    let out = entrenar(dir.path(), &["--max-minutos", "-inf"]);
    assert_falla(&out, 2, &["«-inf» para --max-minutos", "es -inf"]);
}

#[test]
fn la_implementacion_rapida_solo_en_la_cpu() {
    // Con CUDA solo existe la del libro: pedir la rápida es un error de uso, aunque el
    // programa no tenga CUDA (se dice antes de buscar la GPU).
    let dir = tempfile::tempdir().unwrap();
    let out = entrenar(
        dir.path(),
        &["--implementacion", "rapida", "--dispositivo", "cuda"],
    );
    assert_falla(&out, 2, &["--implementacion rapida solo existe en la CPU"]);
    let out = run(
        GPT,
        &[
            "generar",
            "--implementacion",
            "rapida",
            "--dispositivo",
            "cuda",
        ],
    );
    assert_falla(&out, 2, &["--implementacion libro"]);
    // En la CPU, las dos; el programa dice cuál ejecuta.
    for (choice, name) in [("libro", "libro"), ("rapida", "rápida")] {
        let out = entrenar(dir.path(), &["--implementacion", choice, "--sobrescribir"]);
        let stdout = ok(&out);
        assert!(
            stdout.contains(&format!("Implementación: {name}")),
            "{stdout}"
        );
    }
}
