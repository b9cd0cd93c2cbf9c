//! Cómo se muestran los números y los tensores en la narración de los capítulos y en los
//! mensajes de la biblioteca.

use ndarray::ArrayView2;

/// Un número escrito a la manera de la máquina («-1234567.89», «4.9297», «184833») con la
/// norma del libro: coma decimal y, a partir de cinco cifras, los miles separados con un
/// espacio fino que no se parte (U+202F): «-1\u{202F}234\u{202F}567,89», «4,9297»,
/// «184\u{202F}833». Cuatro cifras van juntas («3000»), y nunca hay coma de miles. Es la única
/// función que lo hace: [`decimal`], [`integer`] y [`number`] la usan, y los guiones de Python
/// hacen lo mismo en `scripts/numeros.py`. Lo que no es un número (`NaN`, `inf`) pasa tal cual.
pub fn book_number(machine: &str) -> String {
    let (sign, rest) = match machine.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", machine),
    };
    let (whole, frac) = match rest.split_once('.') {
        Some((whole, frac)) => (whole, Some(frac)),
        None => (rest, None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(whole) || frac.is_some_and(|f| !digits_only(f)) {
        return machine.to_string();
    }
    let mut out = String::from(sign);
    if whole.len() >= 5 {
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push('\u{202F}');
            }
            out.push(ch);
        }
    } else {
        out.push_str(whole);
    }
    if let Some(frac) = frac {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// Un número con `decimals` decimales y la norma del libro: `decimal(4.92968, 4) == "4,9297"`.
pub fn decimal(x: f64, decimals: usize) -> String {
    book_number(&format!("{x:.decimals$}"))
}

/// Un entero con la norma del libro: `integer(184833) == "184\u{202F}833"`, `integer(3000) ==
/// "3000"`.
pub fn integer(n: impl std::fmt::Display) -> String {
    book_number(&n.to_string())
}

/// Un número (`f32` o `f64`) con los decimales que necesita (los mínimos que lo dejan igual
/// al leerlo de vuelta en su tipo), con la norma del libro: `number(0.001) == "0,001"`,
/// `number(0.2f32) == "0,2"`, `number(3.0) == "3"`.
pub fn number(x: impl std::fmt::Display) -> String {
    book_number(&x.to_string())
}

/// Un ritmo para las barras de progreso, con la norma del libro y las cifras que se pueden
/// leer mientras cambia: sin decimales desde 100 («2345/s», «12\u{202F}345/s»), uno desde 10
/// («12,3/s») y dos por debajo («0,52/s»). Sin datos todavía (un ritmo que no es finito o
/// es negativo), «—/s».
pub fn per_second(x: f64) -> String {
    if !x.is_finite() || x < 0.0 {
        return "—/s".to_string();
    }
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    format!("{}/s", decimal(x, decimals))
}

/// Un tiempo para las barras de progreso, en unidades del sistema internacional y con las
/// cifras justas para leerlo de un vistazo: «0 s», «42 s», «3 min 05 s», «2 h 07 min».
pub fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// Una lista de identificadores alineados en columnas, `per_line` por línea, como los
/// imprime PyTorch: `[27, 38, 37,  1, ...]`.
pub fn ids(values: &[u32], per_line: usize) -> String {
    let width = values.iter().map(|v| digits(*v)).max().unwrap_or(1);
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
            out.push_str(if i % per_line == 0 { "\n " } else { " " });
        }
        out.push_str(&format!("{v:>width$}"));
    }
    out.push(']');
    out
}

/// Los `k` primeros y los `k` últimos elementos: `[62, 60, 53, ..., 32, 42, 0]`.
pub fn ids_elided(values: &[u32], k: usize) -> String {
    if values.len() <= 2 * k {
        return ids(values, usize::MAX);
    }
    let show = |s: &[u32]| s.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    format!(
        "[{}, ..., {}]",
        show(&values[..k]),
        show(&values[values.len() - k..])
    )
}

/// Una matriz de identificadores, fila por fila y con columnas alineadas.
pub fn ids_2d(values: ArrayView2<u32>) -> String {
    let width = values.iter().map(|v| digits(*v)).max().unwrap_or(1);
    let rows: Vec<String> = values
        .rows()
        .into_iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>width$}")).collect();
            format!("[{}]", cells.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(",\n "))
}

/// Una forma como `(4, 8)`.
pub fn shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    }
}

/// Parte las líneas de más de `width` columnas para que quepan en una página o en una
/// terminal, **entre palabras**: el espacio donde se parte la línea se cambia por el salto.
/// Solo una palabra más larga que una línea entera se parte por dentro. Los saltos que ya
/// había se respetan, y ningún otro carácter se quita ni se cambia. Las marcas combinantes (la
/// tilde suelta U+0301 del corpus, por ejemplo) no ocupan columna: se pintan sobre el carácter
/// anterior.
pub fn wrap(text: &str, width: usize) -> String {
    let mut w = Wrapper::new(width);
    let mut out = w.push(text);
    out.push_str(&w.finish());
    out
}

/// [`wrap`] por trozos, para partir un texto a medida que se escribe (el que genera el
/// modelo, carácter a carácter). Cada palabra se retiene hasta que termina, porque hasta
/// entonces no se sabe si cabe en la línea: al acabar hay que llamar a [`Wrapper::finish`].
#[derive(Debug, Clone)]
pub struct Wrapper {
    width: usize,
    /// Columnas ya escritas en la línea actual.
    column: usize,
    /// Un espacio tras la última palabra escrita, aún sin escribir: si la palabra siguiente
    /// no cabe, se convierte en el salto de línea.
    space: bool,
    /// La palabra en curso, aún sin escribir, y sus columnas.
    word: String,
    word_columns: usize,
}

impl Wrapper {
    /// Renglones de `width` columnas; con `width == 0`, el texto pasa tal cual.
    pub fn new(width: usize) -> Self {
        Self {
            width,
            column: 0,
            space: false,
            word: String::new(),
            word_columns: 0,
        }
    }

    /// Lo que ya se puede escribir de `text`, con los saltos de línea que le tocan.
    pub fn push(&mut self, text: &str) -> String {
        if self.width == 0 {
            return text.to_string();
        }
        let mut out = String::new();
        for ch in text.chars() {
            match ch {
                '\n' => {
                    self.place_word(&mut out);
                    self.place_space(&mut out);
                    out.push('\n');
                    self.column = 0;
                }
                ' ' => {
                    self.place_word(&mut out);
                    self.place_space(&mut out);
                    self.space = true;
                }
                _ => {
                    self.word.push(ch);
                    if !is_combining(ch) {
                        self.word_columns += 1;
                    }
                }
            }
            // Una palabra que ya llena una línea no va a caber en ninguna: se escribe ya.
            if self.word_columns > self.width {
                let last = self.word.pop().expect("la palabra no está vacía");
                self.word_columns -= 1;
                self.place_word(&mut out);
                self.word.push(last);
                self.word_columns = 1;
            }
        }
        out
    }

    /// Lo que quedaba retenido (la última palabra y su espacio).
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        self.place_word(&mut out);
        self.place_space(&mut out);
        out
    }

    /// Escribe la palabra en curso en esta línea si cabe (con el espacio de delante), y si
    /// no en la siguiente, con el salto en lugar del espacio.
    fn place_word(&mut self, out: &mut String) {
        if self.word.is_empty() {
            return;
        }
        let space = usize::from(self.space);
        let wide = self.column + space + self.word_columns > self.width;
        if wide && (self.column > 0 || self.space) {
            out.push('\n');
            self.column = 0;
        } else if self.space {
            out.push(' ');
            self.column += 1;
        }
        self.space = false;
        out.push_str(&self.word);
        self.column += self.word_columns;
        self.word.clear();
        self.word_columns = 0;
    }

    /// Escribe el espacio pendiente (dos espacios seguidos, o uno antes de un salto de línea)
    /// si cabe en la línea; si no, la línea se parte en él.
    fn place_space(&mut self, out: &mut String) {
        if !std::mem::take(&mut self.space) {
            return;
        }
        if self.column < self.width {
            out.push(' ');
            self.column += 1;
        } else {
            out.push('\n');
            self.column = 0;
        }
    }
}

/// Las marcas diacríticas combinantes (U+0300–U+036F): no avanzan el cursor.
pub fn is_combining(ch: char) -> bool {
    ('\u{300}'..='\u{36F}').contains(&ch)
}

fn digits(v: u32) -> usize {
    v.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_wrapped() {
        assert_eq!(ids(&[27, 1, 40], 2), "[27,  1,\n 40]");
        assert_eq!(ids(&[], 4), "[]");
        assert_eq!(ids_elided(&[1, 2, 3, 4, 5, 6, 7], 2), "[1, 2, ..., 6, 7]");
        assert_eq!(ids_elided(&[1, 2], 2), "[1, 2]");
        let m = ndarray::array![[1u32, 20], [3, 4]];
        assert_eq!(ids_2d(m.view()), "[[ 1, 20],\n [ 3,  4]]");
        assert_eq!(shape(&[4, 8]), "(4, 8)");
        assert_eq!(shape(&[7]), "(7,)");
    }

    #[test]
    fn durations_read_in_si_units() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_millis(400)), "0 s");
        assert_eq!(duration(Duration::from_secs(42)), "42 s");
        assert_eq!(duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(duration(Duration::from_secs(3600)), "1 h 00 min");
        assert_eq!(duration(Duration::from_secs(7620)), "2 h 07 min");
    }

    #[test]
    fn rates_follow_the_book() {
        assert_eq!(per_second(2345.1234), "2345/s");
        assert_eq!(per_second(12345.6), "12\u{202F}346/s");
        assert_eq!(per_second(12.34), "12,3/s");
        assert_eq!(per_second(0.5234), "0,52/s");
        assert_eq!(per_second(0.0), "0,00/s");
        assert_eq!(per_second(f64::INFINITY), "—/s");
        assert_eq!(per_second(f64::NAN), "—/s");
    }

    #[test]
    fn numbers_follow_the_book() {
        assert_eq!(decimal(4.92968, 4), "4,9297");
        assert_eq!(decimal(17.84, 1), "17,8");
        assert_eq!(decimal(-0.355015, 6), "-0,355015");
        assert_eq!(decimal(14016.1, 1), "14\u{202F}016,1");
        assert_eq!(decimal(9999.96, 1), "10\u{202F}000,0");
        assert_eq!(decimal(2.6, 0), "3");
        assert_eq!(integer(184833), "184\u{202F}833");
        assert_eq!(integer(1038397usize), "1\u{202F}038\u{202F}397");
        assert_eq!(integer(3000), "3000");
        assert_eq!(integer(10000), "10\u{202F}000");
        assert_eq!(integer(-123456i64), "-123\u{202F}456");
        assert_eq!(integer(0), "0");
        assert_eq!(number(0.001), "0,001");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.2f32), "0,2");
        assert_eq!(number(1e6), "1\u{202F}000\u{202F}000");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "inf");
        assert_eq!(book_number("1.2.3"), "1.2.3");
        assert_eq!(book_number(""), "");
    }

    /// Lo que escribe se lee de vuelta al mismo número quitando los espacios finos y
    /// cambiando la coma por el punto, y cumple la norma: coma decimal, grupos de tres
    /// cifras desde cinco.
    #[test]
    fn numbers_round_trip() {
        let mut r = crate::tools::rng::seeded(23);
        use rand::Rng as _;
        for _ in 0..2000 {
            let x: f64 = r.random_range(-1e9..1e9) / 10f64.powi(r.random_range(0..9));
            let decimals = r.random_range(0..7);
            let shown = decimal(x, decimals);
            let back: String = shown
                .chars()
                .filter(|&c| c != '\u{202F}')
                .map(|c| if c == ',' { '.' } else { c })
                .collect();
            assert_eq!(back, format!("{x:.decimals$}"), "{x}");
            assert!(!shown.contains('.'), "{shown}");
            let whole = shown.trim_start_matches('-').split(',').next().unwrap();
            let groups: Vec<&str> = whole.split('\u{202F}').collect();
            let digits: usize = groups.iter().map(|g| g.len()).sum();
            if digits < 5 {
                assert_eq!(groups.len(), 1, "{shown}");
            } else {
                assert!((1..=3).contains(&groups[0].len()), "{shown}");
                assert!(groups[1..].iter().all(|g| g.len() == 3), "{shown}");
            }
        }
    }

    #[test]
    fn wrap_breaks_lines_between_words() {
        assert_eq!(wrap("hola que tal", 5), "hola\nque\ntal");
        assert_eq!(
            wrap("en un lugar de la Mancha", 11),
            "en un lugar\nde la\nMancha"
        );
        assert_eq!(wrap("abc", 3), "abc");
        assert_eq!(wrap("", 5), "");
        // Los saltos que había se quedan; los espacios de más, también (si caben).
        assert_eq!(wrap("ab\ncd  ef\n", 8), "ab\ncd  ef\n");
        assert_eq!(wrap("ab \ncd", 8), "ab \ncd");
        // Una palabra más larga que la línea, partida por dentro.
        assert_eq!(wrap("abcdefg", 3), "abc\ndef\ng");
        assert_eq!(wrap("a abcdefg b", 3), "a\nabc\ndef\ng b");
        // La tilde combinante se queda con su letra y no cuenta como columna.
        assert_eq!(wrap("ae\u{301} io", 3), "ae\u{301}\nio");
        assert_eq!(wrap("ae\u{301}io", 3), "ae\u{301}i\no");
        // Ancho 0: sin partir.
        assert_eq!(wrap("hola que tal", 0), "hola que tal");
    }

    /// Solo cambia espacios por saltos, nunca parte una palabra que cabe en una línea, y por
    /// trozos da lo mismo que de una vez.
    #[test]
    fn wrap_keeps_the_text_and_the_words() {
        let mut r = crate::tools::rng::seeded(5);
        use rand::Rng as _;
        for _ in 0..300 {
            let len = r.random_range(0..200);
            let text: String = (0..len)
                .map(|_| ['a', 'b', 'ñ', ' ', ' ', '\n', '\u{301}'][r.random_range(0..7)])
                .collect();
            let width = r.random_range(1..12);
            let wrapped = wrap(&text, width);
            for line in wrapped.lines() {
                let columns = line.chars().filter(|&c| !is_combining(c)).count();
                assert!(columns <= width, "{text:?} → {wrapped:?}");
            }
            let columns = |w: &str| w.chars().filter(|&c| !is_combining(c)).count();
            let fits = text.split([' ', '\n']).all(|w| columns(w) <= width);
            if fits {
                // Sin palabras demasiado largas, solo hay espacios cambiados por saltos.
                assert_eq!(wrapped.chars().count(), text.chars().count(), "{text:?}");
                for (a, b) in wrapped.chars().zip(text.chars()) {
                    assert!(a == b || (a == '\n' && b == ' '), "{text:?} → {wrapped:?}");
                }
            } else {
                // Las palabras largas se parten, y nada más cambia.
                assert_eq!(
                    wrapped.replace(['\n', ' '], ""),
                    text.replace(['\n', ' '], "")
                );
            }
            let mut w = Wrapper::new(width);
            let mut pieces: String = text.chars().map(|c| w.push(&c.to_string())).collect();
            pieces.push_str(&w.finish());
            assert_eq!(pieces, wrapped);
        }
    }
}
