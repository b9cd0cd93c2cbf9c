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
/// terminal: cada `width` columnas mete un salto de línea. No quita ni cambia ningún carácter
/// (un texto generado se sigue leyendo tal cual salió, carácter a carácter), y los saltos que
/// ya había se respetan. Las marcas combinantes (la tilde suelta U+0301 del corpus, por
/// ejemplo) no ocupan columna: se pintan sobre el carácter anterior.
pub fn wrap(text: &str, width: usize) -> String {
    Wrapper::new(width).wrap(text)
}

/// [`wrap`] por trozos, recordando la columna: para partir un texto a medida que se escribe
/// (el que genera el modelo, carácter a carácter).
#[derive(Debug, Clone)]
pub struct Wrapper {
    width: usize,
    column: usize,
}

impl Wrapper {
    pub fn new(width: usize) -> Self {
        assert!(width > 0, "el ancho debe ser al menos 1");
        Self { width, column: 0 }
    }

    /// El trozo siguiente, con los saltos de línea que le tocan.
    pub fn wrap(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / self.width);
        for ch in text.chars() {
            if ch == '\n' {
                self.column = 0;
            } else if !is_combining(ch) {
                if self.column == self.width {
                    out.push('\n');
                    self.column = 0;
                }
                self.column += 1;
            }
            out.push(ch);
        }
        out
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
    fn wrap_breaks_long_lines_and_keeps_every_character() {
        assert_eq!(wrap("abcdefg", 3), "abc\ndef\ng");
        assert_eq!(wrap("abc", 3), "abc");
        assert_eq!(wrap("ab\ncdef\n", 3), "ab\ncde\nf\n");
        assert_eq!(wrap("", 5), "");
        // La tilde combinante se queda con su letra y no cuenta como columna.
        assert_eq!(wrap("ae\u{301}io", 3), "ae\u{301}i\no");
        let long = "x".repeat(500);
        let wrapped = wrap(&long, 80);
        assert!(wrapped.lines().all(|l| l.chars().count() <= 80));
        assert_eq!(wrapped.replace('\n', ""), long);
        // Por trozos, lo mismo que de una vez.
        let mut w = Wrapper::new(3);
        let pieces: String = "abcdefg".chars().map(|c| w.wrap(&c.to_string())).collect();
        assert_eq!(pieces, wrap("abcdefg", 3));
    }
}
