//! El tokenizador de caracteres: cada carácter distinto del texto es un token.

use std::collections::HashMap;
use std::fmt;

// ANCHOR: error
/// Error al codificar o decodificar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    #[error(
        "el carácter {} en la posición {position} no está en el vocabulario",
        CharName(*ch)
    )]
    UnknownChar { ch: char, position: usize },
    #[error(
        "el identificador {id} en la posición {position} está fuera del vocabulario (0..{vocab_size})"
    )]
    IdOutOfRange {
        id: u32,
        position: usize,
        vocab_size: usize,
    },
    #[error(
        "el vocabulario debe tener caracteres distintos y ordenados; {} no lo está",
        CharName(*ch)
    )]
    UnsortedVocabulary { ch: char },
}
// ANCHOR_END: error

/// Muestra un carácter de forma legible aunque sea invisible o combinante: `«a» (U+0061)`.
#[derive(Debug, Clone, Copy)]
pub struct CharName(pub char);

impl fmt::Display for CharName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let shown = match c {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            // Las marcas combinantes (tildes sueltas) se dibujan sobre un círculo punteado.
            '\u{0300}'..='\u{036F}' => format!("\u{25CC}{c}"),
            _ => c.to_string(),
        };
        write!(f, "«{shown}» (U+{:04X})", c as u32)
    }
}

/// Tokenizador a nivel de caracteres, como `stoi`/`itos` en el cuaderno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenizer {
    chars: Vec<char>,
    index: HashMap<char, u32>,
}

impl Tokenizer {
    // ANCHOR: from_text
    /// El vocabulario es la lista ordenada de los caracteres distintos del texto.
    pub fn from_text(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Self::from_sorted(chars)
    }
    // ANCHOR_END: from_text

    /// Reconstruye un tokenizador a partir de su vocabulario (por ejemplo, el guardado en
    /// un punto de control). Los caracteres deben ser distintos y estar ordenados.
    pub fn from_chars(chars: Vec<char>) -> Result<Self, TokenizerError> {
        if let Some(w) = chars.windows(2).find(|w| w[0] >= w[1]) {
            return Err(TokenizerError::UnsortedVocabulary { ch: w[1] });
        }
        Ok(Self::from_sorted(chars))
    }

    fn from_sorted(chars: Vec<char>) -> Self {
        let index = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();
        Self { chars, index }
    }

    /// Número de tokens distintos (`vocab_size` en el cuaderno).
    pub fn vocab_size(&self) -> usize {
        self.chars.len()
    }

    /// Los caracteres del vocabulario, en orden: el token `i` es `chars()[i]`.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// El vocabulario como una sola cadena, como `''.join(chars)`.
    pub fn vocabulary(&self) -> String {
        self.chars.iter().collect()
    }

    // ANCHOR: encode
    /// Texto → lista de identificadores. Falla si algún carácter no está en el vocabulario.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        text.chars()
            .enumerate()
            .map(|(position, ch)| {
                self.index
                    .get(&ch)
                    .copied()
                    .ok_or(TokenizerError::UnknownChar { ch, position })
            })
            .collect()
    }

    /// El mismo texto en la forma de Unicode que el vocabulario conoce. Una «é» puede
    /// escribirse como un carácter (forma NFC, la de casi todos los teclados) o como «e» más
    /// una tilde combinante (NFD, la del Quijote de este libro). Si `text` tiene caracteres
    /// fuera del vocabulario, prueba ambas formas y devuelve la primera que se puede
    /// codificar entera; si ninguna, el error del texto original, que nombra el carácter.
    pub fn adapt<'a>(&self, text: &'a str) -> Result<std::borrow::Cow<'a, str>, TokenizerError> {
        use unicode_normalization::UnicodeNormalization as _;
        let known = |t: &str| t.chars().all(|c| self.index.contains_key(&c));
        if known(text) {
            return Ok(std::borrow::Cow::Borrowed(text));
        }
        for form in [
            text.nfd().collect::<String>(),
            text.nfc().collect::<String>(),
        ] {
            if known(&form) {
                return Ok(std::borrow::Cow::Owned(form));
            }
        }
        self.encode(text).map(|_| std::borrow::Cow::Borrowed(text))
    }

    /// Lista de identificadores → texto. Falla si algún identificador no existe.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        ids.iter()
            .enumerate()
            .map(|(position, &id)| {
                self.chars
                    .get(id as usize)
                    .copied()
                    .ok_or(TokenizerError::IdOutOfRange {
                        id,
                        position,
                        vocab_size: self.chars.len(),
                    })
            })
            .collect()
    }
    // ANCHOR_END: encode
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_text_vocabulary_is_sorted_and_unique() {
        let tok = Tokenizer::from_text("hola, mundo");
        assert_eq!(tok.vocabulary(), " ,adhlmnou");
        assert_eq!(tok.vocab_size(), 10);
        assert_eq!(tok.encode("hola").unwrap(), vec![4, 8, 5, 2]);
        assert_eq!(tok.decode(&[4, 8, 5, 2]).unwrap(), "hola");
    }

    #[test]
    fn unknown_char_is_named_with_its_position() {
        let tok = Tokenizer::from_text("abc");
        let err = tok.encode("abñc").unwrap_err();
        assert_eq!(
            err,
            TokenizerError::UnknownChar {
                ch: 'ñ',
                position: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "el carácter «ñ» (U+00F1) en la posición 2 no está en el vocabulario"
        );
    }

    #[test]
    fn id_out_of_range_is_an_error() {
        let tok = Tokenizer::from_text("abc");
        let err = tok.decode(&[0, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "el identificador 3 en la posición 1 está fuera del vocabulario (0..3)"
        );
    }

    #[test]
    fn adapt_finds_the_unicode_form_of_the_vocabulary() {
        // Vocabulario en NFD (como el Quijote): «n» y la tilde combinante por separado.
        let tok = Tokenizer::from_text("ano n\u{303}o");
        assert_eq!(tok.adapt("año").unwrap(), "an\u{303}o");
        assert_eq!(tok.adapt("ano").unwrap(), "ano");
        // Vocabulario en NFC: al revés.
        let tok = Tokenizer::from_text("año");
        assert_eq!(tok.adapt("an\u{303}o").unwrap(), "año");
        // Si ninguna forma sirve, el error nombra el carácter del texto original.
        let err = tok.adapt("añox").unwrap_err();
        assert_eq!(
            err,
            TokenizerError::UnknownChar {
                ch: 'x',
                position: 3
            }
        );
    }

    #[test]
    fn from_chars_refuses_unsorted_vocabularies() {
        assert!(Tokenizer::from_chars(vec!['a', 'b']).is_ok());
        assert!(Tokenizer::from_chars(vec!['b', 'a']).is_err());
        assert!(Tokenizer::from_chars(vec!['a', 'a']).is_err());
    }
}
