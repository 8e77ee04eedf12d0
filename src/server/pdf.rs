//! A small PDF 1.4 writer for plain text documents, and the printable
//! prescription built with it.
//!
//! Only the standard Helvetica and Helvetica-Bold fonts are used, so nothing
//! is embedded and every PDF reader can show the result. Text is encoded in
//! WinAnsi (Latin-1 plus typographic quotes, dashes, the bullet and the euro
//! sign); anything else becomes '?'. Content streams are not compressed.

use std::time::{SystemTime, UNIX_EPOCH};

/// A4 in points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const TOP: f32 = PAGE_HEIGHT - MARGIN;
/// The page footer sits inside the bottom margin.
const FOOTER_BASELINE: f32 = 34.0;

const BODY: Style = Style { font: Font::Regular, size: 11.0, leading: 15.0 };
const BOLD: Style = Style { font: Font::Bold, size: 11.0, leading: 15.0 };
const HEADING: Style = Style { font: Font::Bold, size: 18.0, leading: 26.0 };
const SMALL: Style = Style { font: Font::Regular, size: 9.0, leading: 12.0 };

/// Where a field's value starts, after its label.
const LABEL_COLUMN: f32 = 96.0;
/// Where an item's text starts, after its marker ("12.").
const ITEM_INDENT: f32 = 22.0;

/// One of the two built-in fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy)]
struct Style {
    font: Font,
    size: f32,
    leading: f32,
}

/// Advance widths (1/1000 em) of ASCII 32..=126 under WinAnsiEncoding, from
/// Adobe's core font metrics.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];
/// The unaccented letter each of WinAnsi 0xC0..=0xFF is drawn like, for its
/// width; '*' marks the few that are measured on their own.
const LATIN1_BASE: &[u8; 64] = b"AAAAAA*CEEEEIIIIDNOOOOO*OUUUUY**aaaaaa*ceeeeiiiidnooooo*ouuuuy*y";

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    /// The advance width of one WinAnsi byte, in 1/1000 em.
    fn width(self, byte: u8) -> u16 {
        let bold = self == Font::Bold;
        let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
        match byte {
            32..=126 => table[usize::from(byte - 32)],
            0xC0..=0xFF => match (byte, LATIN1_BASE[usize::from(byte - 0xC0)]) {
                (0xC6, _) => 1000,
                (0xD7 | 0xF7, _) => 584,
                (0xDE, _) => 667,
                (0xDF, _) => 611,
                (0xE6, _) => 889,
                (0xFE, _) if bold => 611,
                (0xFE, _) => 556,
                (_, base) => table[usize::from(base - 32)],
            },
            0x85 | 0x89 | 0x8C | 0x97 | 0x99 => 1000,
            0x9C => 944,
            0x95 => 350,
            0xA0 | 0xB7 => 278,
            0x82 | 0x91 | 0x92 if bold => 278,
            0x82 | 0x91 | 0x92 => 222,
            0x84 | 0x93 | 0x94 if bold => 500,
            0x84 | 0x93 | 0x94 => 333,
            0x88 | 0x8B | 0x98 | 0x9B | 0xA1 | 0xA8 | 0xAD | 0xAF | 0xB2..=0xB4 | 0xB8 | 0xB9 => 333,
            0xA9 | 0xAE => 737,
            0xAC | 0xB1 => 584,
            0xB0 => 400,
            0xBC..=0xBE => 834,
            0x8A | 0x9F => 667,
            0x8E => 611,
            0x9A if bold => 556,
            0x9A | 0x9E => 500,
            _ => 556,
        }
    }

    /// The width of encoded text at a size, in points.
    fn measure(self, text: &[u8], size: f32) -> f32 {
        text.iter().map(|&b| f32::from(self.width(b))).sum::<f32>() * size / 1000.0
    }
}

/// Encodes text as WinAnsi (Windows-1252) bytes. Line breaks and other
/// control characters become spaces; characters the encoding lacks become '?'.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{0}'..='\u{1F}' | '\u{7F}' => b' ',
            '\u{A0}'..='\u{FF}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            _ => b'?',
        })
        .collect()
}

/// Breaks encoded text into lines no wider than `width` points, at spaces
/// where possible and inside a word only when the word alone is too wide.
/// Runs of spaces collapse; empty text gives one empty line.
fn wrap(text: &[u8], font: Font, size: f32, width: f32) -> Vec<Vec<u8>> {
    let space = font.measure(b" ", size);
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut current_width = 0.0;
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let word_width = font.measure(word, size);
        if !current.is_empty() && current_width + space + word_width <= width {
            current.push(b' ');
            current.extend_from_slice(word);
            current_width += space + word_width;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
            current_width = 0.0;
        }
        if word_width <= width {
            current.extend_from_slice(word);
            current_width = word_width;
            continue;
        }
        for &b in word {
            let w = font.measure(&[b], size);
            if !current.is_empty() && current_width + w > width {
                lines.push(std::mem::take(&mut current));
                current_width = 0.0;
            }
            current.push(b);
            current_width += w;
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Writes bytes as a PDF literal string, escaping `(`, `)` and `\`.
fn literal(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'(');
    for &b in text {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
}

/// Writes text as a PDF text string in UTF-16BE with a byte order mark, the
/// form the document information dictionary needs for non-ASCII text.
fn utf16_hex(text: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in text.encode_utf16() {
        hex.push_str(&format!("{unit:04X}"));
    }
    hex.push('>');
    hex
}

/// A coordinate with at most two decimals and no trailing zeros.
fn num(value: f32) -> String {
    let text = format!("{:.2}", value);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// (year, month, day) of a count of days since 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A PDF date string, in UTC: `D:20261129143005+00'00'`.
fn pdf_date(when: SystemTime) -> String {
    let secs = when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!("D:{year:04}{month:02}{day:02}{:02}{:02}{:02}+00'00'", rest / 3600, rest / 60 % 60, rest % 60)
}

/// Something drawn on a page.
#[derive(Debug, Clone)]
enum Mark {
    Text { x: f32, y: f32, font: Font, size: f32, text: Vec<u8> },
    Rule { y: f32 },
}

/// Lays out text on A4 pages, top to bottom, breaking pages as needed, and
/// writes it as a PDF 1.4 file with "Page N of M" at the foot of each page.
///
/// ```text
/// let mut pdf = TextPdf::new("Letter");
/// pdf.heading("Letter").wrapped("Dear patient, …");
/// let bytes = pdf.finish();
/// ```
#[derive(Debug, Clone)]
pub struct TextPdf {
    title: String,
    created: SystemTime,
    footer: Vec<u8>,
    pages: Vec<Vec<Mark>>,
    /// The top of the next line on the last page.
    y: f32,
}

impl TextPdf {
    /// An empty document; `title` goes into the document information.
    pub fn new(title: &str) -> TextPdf {
        TextPdf {
            title: title.to_owned(),
            created: SystemTime::now(),
            footer: Vec::new(),
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    /// Sets the creation time recorded in the document information (now by default).
    pub fn created_at(&mut self, when: SystemTime) -> &mut Self {
        self.created = when;
        self
    }

    /// Text shown at the bottom left of every page, beside the page number.
    pub fn footer(&mut self, text: &str) -> &mut Self {
        self.footer = win_ansi(text);
        self
    }

    /// A large bold title, wrapped if long.
    pub fn heading(&mut self, text: &str) -> &mut Self {
        self.keep(HEADING.leading + 2.0 * BODY.leading);
        self.paragraphs(text, HEADING, MARGIN, CONTENT_WIDTH)
    }

    /// One line of body text, as given: it is not wrapped, so use
    /// [`TextPdf::wrapped`] for text that may be long.
    pub fn line(&mut self, text: &str) -> &mut Self {
        self.place(MARGIN, BODY, win_ansi(text))
    }

    /// One line of bold body text, not wrapped; keeps at least one more line
    /// on the same page, so it works as a section title.
    pub fn bold_line(&mut self, text: &str) -> &mut Self {
        self.keep(2.0 * BODY.leading);
        self.place(MARGIN, BOLD, win_ansi(text))
    }

    /// Body text wrapped to the page width; each `\n` starts a new line.
    pub fn wrapped(&mut self, text: &str) -> &mut Self {
        self.paragraphs(text, BODY, MARGIN, CONTENT_WIDTH)
    }

    /// Small print wrapped to the page width.
    pub fn small(&mut self, text: &str) -> &mut Self {
        self.paragraphs(text, SMALL, MARGIN, CONTENT_WIDTH)
    }

    /// A bold label in the left column (keep it short: the column is
    /// about 15 characters wide) with its value wrapped beside it.
    pub fn field(&mut self, label: &str, value: &str) -> &mut Self {
        self.beside(label, BOLD, LABEL_COLUMN, value)
    }

    /// A list item: the marker ("1.", "•") with the text wrapped beside it.
    pub fn item(&mut self, marker: &str, text: &str) -> &mut Self {
        self.beside(marker, BODY, ITEM_INDENT, text)
    }

    /// Half a line of space (none at the top of a page).
    pub fn gap(&mut self) -> &mut Self {
        if self.y < TOP {
            self.y -= BODY.leading / 2.0;
        }
        self
    }

    /// A thin horizontal line across the page, with a little space around it.
    pub fn rule(&mut self) -> &mut Self {
        self.keep(BODY.leading);
        self.y -= 5.0;
        let y = self.y;
        self.current().push(Mark::Rule { y });
        self.y -= 8.0;
        self
    }

    /// Starts a new page unless at least `height` points are left on this one.
    pub fn keep(&mut self, height: f32) -> &mut Self {
        if self.y - height < MARGIN && self.y < TOP {
            self.new_page();
        }
        self
    }

    /// Pages laid out so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Writes the document: header, catalog, page tree, fonts, information,
    /// each page with its content stream, cross-reference table and trailer.
    pub fn finish(self) -> Vec<u8> {
        let count = self.pages.len();
        // Objects: 1 catalog, 2 pages, 3 and 4 fonts, 5 info, then a page
        // and its content stream for each page.
        let page_object = |i: usize| 6 + 2 * i;
        let mut objects: Vec<Vec<u8>> = Vec::with_capacity(5 + 2 * count);
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..count).map(|i| format!("{} 0 R", page_object(i))).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {count} >>", kids.join(" ")).into_bytes());
        for name in ["Helvetica", "Helvetica-Bold"] {
            objects.push(
                format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>").into_bytes(),
            );
        }
        let date = pdf_date(self.created);
        objects.push(
            format!("<< /Title {} /Producer (Telehealth) /CreationDate ({date}) >>", utf16_hex(&self.title))
                .into_bytes(),
        );
        for (i, marks) in self.pages.iter().enumerate() {
            let content = self.content_stream(marks, i + 1, count);
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                     /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    num(PAGE_WIDTH),
                    num(PAGE_HEIGHT),
                    page_object(i) + 1
                )
                .into_bytes(),
            );
            let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            stream.extend_from_slice(&content);
            stream.extend_from_slice(b"\nendstream");
            objects.push(stream);
        }

        // The second line marks the file as binary for transfer programs.
        let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let size = objects.len() + 1;
        // Each entry is exactly 20 bytes: 10 digits, space, 5 digits, space, type, space, newline.
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {size} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    }

    fn content_stream(&self, marks: &[Mark], page: usize, pages: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let text = |out: &mut Vec<u8>, x: f32, y: f32, font: Font, size: f32, bytes: &[u8]| {
            out.extend_from_slice(
                format!("BT /{} {} Tf {} {} Td ", font.resource(), num(size), num(x), num(y)).as_bytes(),
            );
            literal(out, bytes);
            out.extend_from_slice(b" Tj ET\n");
        };
        for mark in marks {
            match mark {
                Mark::Text { x, y, font, size, text: bytes } => text(&mut out, *x, *y, *font, *size, bytes),
                Mark::Rule { y } => out.extend_from_slice(
                    format!(
                        "q 0.6 G 0.5 w {} {} m {} {} l S Q\n",
                        num(MARGIN),
                        num(*y),
                        num(PAGE_WIDTH - MARGIN),
                        num(*y)
                    )
                    .as_bytes(),
                ),
            }
        }
        let number = win_ansi(&format!("Page {page} of {pages}"));
        let number_width = SMALL.font.measure(&number, SMALL.size);
        text(&mut out, PAGE_WIDTH - MARGIN - number_width, FOOTER_BASELINE, SMALL.font, SMALL.size, &number);
        if !self.footer.is_empty() {
            let room = CONTENT_WIDTH - number_width - 18.0;
            let footer = wrap(&self.footer, SMALL.font, SMALL.size, room).swap_remove(0);
            text(&mut out, MARGIN, FOOTER_BASELINE, SMALL.font, SMALL.size, &footer);
        }
        out
    }

    fn current(&mut self) -> &mut Vec<Mark> {
        self.pages.last_mut().expect("a document always has a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Places one line of encoded text at `x`, breaking the page first if it
    /// does not fit.
    fn place(&mut self, x: f32, style: Style, text: Vec<u8>) -> &mut Self {
        self.place_line(x, style, text);
        self
    }

    /// Like [`TextPdf::place`], returning the baseline of the line.
    fn place_line(&mut self, x: f32, style: Style, text: Vec<u8>) -> f32 {
        if self.y - style.leading < MARGIN && self.y < TOP {
            self.new_page();
        }
        let y = self.y - baseline_offset(style);
        self.current().push(Mark::Text { x, y, font: style.font, size: style.size, text });
        self.y -= style.leading;
        y
    }

    /// Wraps each line of `text` into `width` points starting at `x`.
    fn paragraphs(&mut self, text: &str, style: Style, x: f32, width: f32) -> &mut Self {
        for paragraph in text.split('\n') {
            for line in wrap(&win_ansi(paragraph), style.font, style.size, width) {
                self.place(x, style, line);
            }
        }
        self
    }

    /// Wraps `text` at `indent` points from the margin and puts `label` at
    /// the margin beside its first line.
    fn beside(&mut self, label: &str, label_style: Style, indent: f32, text: &str) -> &mut Self {
        let mut first = true;
        for paragraph in text.split('\n') {
            for line in wrap(&win_ansi(paragraph), BODY.font, BODY.size, CONTENT_WIDTH - indent) {
                let y = self.place_line(MARGIN + indent, BODY, line);
                if std::mem::take(&mut first) && !label.is_empty() {
                    let (font, size, text) = (label_style.font, label_style.size, win_ansi(label));
                    self.current().push(Mark::Text { x: MARGIN, y, font, size, text });
                }
            }
        }
        self
    }
}

/// How far below the top of its line a line's baseline sits.
fn baseline_offset(style: Style) -> f32 {
    // Helvetica reaches 0.718 em above the baseline and 0.207 em below it;
    // the glyphs sit in the middle of the line.
    (style.leading - 0.925 * style.size) / 2.0 + 0.718 * style.size
}

/// Everything printed on a prescription, already formatted for reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrescriptionDocument {
    pub title: String,
    /// When it was issued, as the patient should read it.
    pub issued_at: String,
    pub doctor_name: String,
    /// Specialization and licence, on one line.
    pub doctor_details: String,
    pub patient_name: String,
    pub patient_born: Option<String>,
    /// One summary line per medication.
    pub medications: Vec<String>,
    pub instructions: Option<String>,
    pub follow_up: Option<String>,
    /// Says which revision this is, when it replaced an earlier one.
    pub version_note: Option<String>,
    /// The prescription's id, printed so a pharmacist can check it.
    pub reference: String,
}

/// Lays out a prescription as a PDF: prescriber, patient, the numbered
/// medications, instructions and follow-up, with the reference on every page.
pub fn prescription_pdf(doc: &PrescriptionDocument) -> Vec<u8> {
    let mut pdf = TextPdf::new(&doc.title);
    pdf.footer(&format!("{} · Reference {}", doc.title, doc.reference));
    pdf.heading(&doc.title);
    pdf.small(&format!("Issued {} · Reference {}", doc.issued_at, doc.reference));
    if let Some(note) = doc.version_note.as_deref().filter(|n| !n.trim().is_empty()) {
        pdf.small(note);
    }
    pdf.rule();
    pdf.field("Prescriber", &doc.doctor_name);
    if !doc.doctor_details.trim().is_empty() {
        pdf.field("", &doc.doctor_details);
    }
    pdf.gap();
    pdf.field("Patient", &doc.patient_name);
    if let Some(born) = doc.patient_born.as_deref().filter(|b| !b.trim().is_empty()) {
        pdf.field("Born", born);
    }
    pdf.rule();
    pdf.bold_line("Medications");
    if doc.medications.is_empty() {
        pdf.wrapped("No medications are listed.");
    }
    for (i, medication) in doc.medications.iter().enumerate() {
        pdf.item(&format!("{}.", i + 1), medication);
    }
    if let Some(instructions) = doc.instructions.as_deref().filter(|i| !i.trim().is_empty()) {
        pdf.gap();
        pdf.bold_line("Instructions");
        pdf.wrapped(instructions);
    }
    if let Some(follow_up) = doc.follow_up.as_deref().filter(|f| !f.trim().is_empty()) {
        pdf.gap();
        pdf.field("Follow-up", follow_up);
    }
    pdf.gap();
    pdf.rule();
    pdf.small(&format!(
        "Issued electronically by {} through Telehealth. A pharmacist can confirm this prescription \
         with the prescriber, quoting reference {}.",
        doc.doctor_name, doc.reference
    ));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).filter(|w| *w == needle).count()
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// The offsets in the cross-reference table, checking its framing.
    fn xref_offsets(pdf: &[u8]) -> Vec<usize> {
        let tail = text(&pdf[pdf.len() - 40..]);
        let start: usize = tail.split("startxref\n").nth(1).unwrap().lines().next().unwrap().parse().unwrap();
        let table = text(&pdf[start..]);
        assert!(table.starts_with("xref\n0 "), "startxref points at {:?}", &table[..20.min(table.len())]);
        let mut lines = table.lines().skip(1);
        let size: usize = lines.next().unwrap().trim_start_matches("0 ").parse().unwrap();
        assert_eq!(lines.next(), Some("0000000000 65535 f "));
        let offsets: Vec<usize> = lines
            .by_ref()
            .take(size - 1)
            .map(|entry| {
                assert_eq!(entry.len(), 19, "entry {entry:?} (20 bytes with its newline)");
                assert!(entry.ends_with(" 00000 n "), "{entry:?}");
                entry[..10].parse().unwrap()
            })
            .collect();
        assert_eq!(lines.next(), Some("trailer"));
        assert!(lines.next().unwrap().contains(&format!("/Size {size} ")));
        offsets
    }

    fn sample(medications: usize) -> PrescriptionDocument {
        let names = ["Amoxicillin", "Ibuprofen", "Salbutamol (Ventolin)", "Omeprazole"];
        PrescriptionDocument {
            title: "Prescription".into(),
            issued_at: "29 November 2026, 14:30 (Europe/London)".into(),
            doctor_name: "Dr Ana Souza".into(),
            doctor_details: "Dermatology · Licence GMC-7043921".into(),
            patient_name: "Zoë Müller".into(),
            patient_born: Some("4 March 1990".into()),
            medications: (0..medications)
                .map(|i| {
                    format!(
                        "{} 500 mg capsule — 1 capsule oral, three times a day for 7 days (quantity 21, 0 refills)",
                        names[i % names.len()]
                    )
                })
                .collect(),
            instructions: Some("Finish the whole course, even when you feel better.\nDrink plenty of water.".into()),
            follow_up: Some("6 December 2026".into()),
            version_note: Some("Version 2: replaces the prescription issued on 28 November 2026.".into()),
            reference: "7f0c2a9e-5d1b-4c8e-9f3a-2b6d8e1c4a70".into(),
        }
    }

    #[test]
    fn a_document_is_framed_as_pdf_1_4() {
        let pdf = prescription_pdf(&sample(2));
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert_eq!(count(&pdf, b"%%EOF"), 1);
    }

    #[test]
    fn every_xref_offset_points_at_its_object() {
        let pdf = prescription_pdf(&sample(60));
        let offsets = xref_offsets(&pdf);
        assert!(offsets.len() > 7, "several pages mean several objects");
        for (i, &offset) in offsets.iter().enumerate() {
            let expected = format!("{} 0 obj\n", i + 1);
            assert!(pdf[offset..].starts_with(expected.as_bytes()), "object {} at {offset}", i + 1);
        }
        assert_eq!(count(&pdf, b" 0 obj\n"), offsets.len(), "every object is in the table");
    }

    #[test]
    fn every_stream_length_is_exact() {
        let pdf = prescription_pdf(&sample(3));
        let mut rest = &pdf[..];
        let mut streams = 0;
        while let Some(at) = find(rest, b"/Length ") {
            rest = &rest[at + 8..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let length: usize = text(&rest[..digits]).parse().unwrap();
            let body = find(rest, b"stream\n").unwrap() + 7;
            assert!(rest[body + length..].starts_with(b"\nendstream"), "stream {streams} is {length} bytes");
            streams += 1;
        }
        assert_eq!(streams, 1, "one page, one content stream");
    }

    #[test]
    fn parentheses_and_backslashes_are_escaped() {
        let mut pdf = TextPdf::new("Escapes");
        pdf.line(r"f(x) = a\b)");
        let out = pdf.finish();
        assert!(find(&out, br"(f\(x\) = a\\b\)) Tj").is_some(), "{}", text(&out));
    }

    #[test]
    fn text_is_encoded_in_win_ansi() {
        assert_eq!(
            win_ansi("a–b—c•€“x”’é中\t"),
            vec![b'a', 0x96, b'b', 0x97, b'c', 0x95, 0x80, 0x93, b'x', 0x94, 0x92, 0xE9, b'?', b' ']
        );
        let mut pdf = TextPdf::new("Dashes");
        pdf.line("9–5 日本");
        let out = pdf.finish();
        assert!(find(&out, b"(9\x965 ??) Tj").is_some(), "{}", text(&out));
    }

    #[test]
    fn the_document_information_names_the_title_and_producer() {
        let mut pdf = TextPdf::new("Rx (Zoë)");
        pdf.created_at(UNIX_EPOCH + std::time::Duration::from_secs(20_000 * 86_400 + 3_723));
        let out = text(&pdf.finish());
        assert!(out.contains("/Producer (Telehealth)"));
        assert!(out.contains("/CreationDate (D:20241004010203+00'00')"), "{out}");
        assert!(out.contains("/Title <FEFF0052007800200028005A006F00EB0029>"), "{out}");
        assert!(out.contains("/Info 5 0 R"));
    }

    #[test]
    fn dates_are_counted_from_1970() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
    }

    #[test]
    fn long_text_is_wrapped_within_the_margins() {
        let text = format!("{} {}", "word ".repeat(200), "x".repeat(400));
        let lines = wrap(&win_ansi(&text), Font::Regular, 11.0, CONTENT_WIDTH);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(Font::Regular.measure(line, 11.0) <= CONTENT_WIDTH, "{}", String::from_utf8_lossy(line));
        }
        let letters: usize = lines.iter().map(|l| l.iter().filter(|b| **b != b' ').count()).sum();
        assert_eq!(letters, 200 * 4 + 400, "nothing is lost");
        assert_eq!(wrap(b"", Font::Bold, 11.0, 100.0), vec![Vec::<u8>::new()], "an empty line is kept");
    }

    #[test]
    fn bold_text_is_measured_wider_than_regular() {
        let sample = win_ansi("Amoxicillin 500 mg — Zoë");
        assert!(Font::Bold.measure(&sample, 11.0) > Font::Regular.measure(&sample, 11.0));
        assert!((Font::Regular.measure(b"ii", 10.0) - 4.44).abs() < 1e-4);
    }

    #[test]
    fn a_long_prescription_spans_pages_with_a_footer_on_each() {
        let pdf = prescription_pdf(&sample(200));
        let pages = count(&pdf, b"/Type /Page ");
        assert!(pages >= 4, "{pages} pages");
        assert!(find(&pdf, format!("/Count {pages} ").as_bytes()).is_some());
        for n in 1..=pages {
            assert_eq!(count(&pdf, format!("(Page {n} of {pages}) Tj").as_bytes()), 1, "page {n}");
        }
        assert!(find(&pdf, b"(200.) Tj").is_some(), "the last medication is numbered");
        let footer = b"(Prescription \xB7 Reference 7f0c2a9e-5d1b-4c8e-9f3a-2b6d8e1c4a70) Tj";
        assert_eq!(count(&pdf, footer), pages, "the reference is at the foot of every page");
    }

    #[test]
    fn nothing_is_drawn_below_the_bottom_margin() {
        let mut pdf = TextPdf::new("Margins");
        for i in 0..150 {
            pdf.item("•", &format!("Line {i} of a list that goes on and on"));
            pdf.gap();
        }
        assert!(pdf.page_count() > 2);
        for marks in &pdf.pages {
            for mark in marks {
                if let Mark::Text { y, .. } = mark {
                    assert!(*y > MARGIN - 4.0 && *y < TOP, "baseline {y}");
                }
            }
        }
    }

    #[test]
    fn an_empty_document_is_still_one_valid_page() {
        let pdf = TextPdf::new("Empty").finish();
        assert_eq!(count(&pdf, b"/Type /Page "), 1);
        assert!(find(&pdf, b"(Page 1 of 1) Tj").is_some());
        assert_eq!(xref_offsets(&pdf).len(), 7);
    }

    /// Runs a tool from poppler-utils or qpdf if this machine has it.
    fn run_tool(program: &str, args: &[&str], after: &[&str], pdf: &[u8]) -> Option<std::process::Output> {
        if Command::new(program).arg("--help").output().is_err() {
            eprintln!("{program} is not installed; skipping the check with it");
            return None;
        }
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let path = std::env::temp_dir().join(format!("telehealth-{program}-{}-{nanos}.pdf", std::process::id()));
        std::fs::write(&path, pdf).unwrap();
        let output = Command::new(program).args(args).arg(&path).args(after).output();
        let _ = std::fs::remove_file(&path);
        Some(output.unwrap())
    }

    #[test]
    fn pdftotext_reads_back_the_medications() {
        let Some(output) = run_tool("pdftotext", &["-enc", "UTF-8", "-layout"], &["-"], &prescription_pdf(&sample(4)))
        else {
            return;
        };
        assert!(output.status.success(), "{}", text(&output.stderr));
        let extracted = text(&output.stdout);
        for expected in ["Amoxicillin 500 mg", "Ibuprofen", "Salbutamol (Ventolin)", "Omeprazole", "Zoë Müller"] {
            assert!(extracted.contains(expected), "{expected:?} missing from:\n{extracted}");
        }
        assert!(extracted.contains("capsule — 1 capsule"), "the em dash survives:\n{extracted}");
        assert!(extracted.contains("Page 1 of 1"), "{extracted}");
    }

    #[test]
    fn qpdf_finds_no_structural_problems() {
        let Some(output) = run_tool("qpdf", &["--check"], &[], &prescription_pdf(&sample(120))) else {
            return;
        };
        let report = text(&output.stdout) + &text(&output.stderr);
        assert!(output.status.success(), "{report}");
        assert!(report.contains("No syntax or stream encoding errors found"), "{report}");
    }
}
