//! Cómo se muestran los tensores en la narración de los capítulos.

use ndarray::ArrayView2;

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
