//! The quarterly report as a PDF made by the server (pdf-writer; no browser, no font files):
//! A4 pages in Helvetica (the PDF's own standard font, WinAnsi encoding), the summary, the
//! tables and two bar charts drawn as rectangles.

use super::quarterly::{Quarterly, action_bars, reaction_bars};
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// Text in the WinAnsi encoding of the standard fonts; what it lacks becomes '?'.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '–' => 0x96,
            '—' => 0x97,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '…' => 0x85,
            '≥' => b'>',
            _ => b'?',
        })
        .collect()
}

/// Helvetica's average advance, for wrapping (a little generous, so lines never overflow).
fn fits(text: &str, size: f32, width: f32) -> bool {
    text.chars().count() as f32 * size * 0.52 <= width
}

fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if fits(&candidate, size, width) || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn room(&mut self, needed: f32) {
        if self.pages.is_empty() || self.y - needed < MARGIN {
            self.pages.push(Content::new());
            self.y = HEIGHT - MARGIN;
        }
    }

    fn text(&mut self, text: &str, size: f32, bold: bool, x: f32) {
        let y = self.y;
        let c = self.page();
        c.begin_text();
        c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
        c.next_line(x, y);
        c.show(Str(&win_ansi(text)));
        c.end_text();
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool) {
        for line in wrap(text, size, WIDTH - 2.0 * MARGIN) {
            self.room(size * 1.4);
            self.text(&line, size, bold, MARGIN);
            self.y -= size * 1.4;
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    /// A table: a bold header, rows, a bold last row when `total`.
    fn table(&mut self, header: &[&str], rows: &[Vec<String>], total: bool) {
        let col = (WIDTH - 2.0 * MARGIN) / header.len() as f32;
        let size = if header.len() > 7 { 7.5 } else { 9.0 };
        self.room(size * 3.0);
        for (i, h) in header.iter().enumerate() {
            self.text(h, size, true, MARGIN + i as f32 * col);
        }
        self.y -= size * 1.6;
        for (r, row) in rows.iter().enumerate() {
            self.room(size * 1.5);
            let bold = total && r + 1 == rows.len();
            for (i, cell) in row.iter().enumerate() {
                self.text(cell, size, bold, MARGIN + i as f32 * col);
            }
            self.y -= size * 1.5;
        }
        self.gap(8.0);
    }

    /// A bar chart: one bar per value, labelled beneath, its value above.
    fn bars(&mut self, title: &str, bars: &[(String, u64, f64)], suffix: &str) {
        let h = 90.0;
        self.room(h + 50.0);
        self.paragraph(title, 10.0, true);
        let base = self.y - h;
        let slot = (WIDTH - 2.0 * MARGIN) / bars.len().max(1) as f32;
        for (i, (label, value, share)) in bars.iter().enumerate() {
            let x = MARGIN + i as f32 * slot + slot * 0.2;
            let bar = (h - 14.0) * (*share as f32);
            let c = self.page();
            c.set_fill_rgb(0.13, 0.37, 0.66);
            c.rect(x, base, slot * 0.6, bar.max(0.5));
            c.fill_nonzero();
            c.set_fill_rgb(0.0, 0.0, 0.0);
            let y = self.y;
            self.y = base + bar + 3.0;
            self.text(&format!("{value}{suffix}"), 8.0, false, x);
            self.y = base - 10.0;
            self.text(label, 8.0, false, x);
            self.y = y;
        }
        self.y = base - 24.0;
    }
}

/// The document's bytes.
pub fn render(q: &Quarterly) -> Vec<u8> {
    let mut w = Writer { pages: Vec::new(), y: HEIGHT - MARGIN };
    w.paragraph(&q.title(), 18.0, true);
    w.paragraph("Buurtnet – deelnemers, acties en buurtonderzoeken. Aantallen mensen onder 5 staan als \"< 5\".", 9.0, false);
    w.gap(6.0);
    w.paragraph("Samenvatting", 13.0, true);
    for line in &q.summary {
        w.paragraph(line, 10.0, false);
    }
    w.gap(6.0);
    w.paragraph("Acties", 13.0, true);
    let mut rows: Vec<Vec<String>> = q
        .actions
        .rows
        .iter()
        .chain(std::iter::once(&q.actions.total))
        .map(|r| {
            vec![
                if r.period == "total" { "Totaal".into() } else { r.period.clone() },
                r.actions.to_string(),
                r.direct.to_string(),
                r.indirect.to_string(),
                r.none.to_string(),
                r.direct_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
                r.success_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
                r.reached.to_string(),
            ]
        })
        .collect();
    w.table(&["Maand", "Acties", "Direct", "Indirect", "Geen", "Direct %", "Maatsch. %", "Bereikt"], &rows, true);
    w.bars("Acties per maand", &action_bars(q), "");
    w.paragraph("Buurtonderzoeken", 13.0, true);
    rows = q
        .enquiries
        .rows
        .iter()
        .chain(std::iter::once(&q.enquiries.total))
        .map(|r| {
            vec![
                if r.month == "total" { "Totaal".into() } else { r.month.clone() },
                r.enquiries_sent.to_string(),
                r.enquiries_with_reply.to_string(),
                r.reaction_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
                r.replies.to_string(),
                r.relevant_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    w.table(&["Maand", "Verstuurd", "Met reactie", "Reactie %", "Reacties", "Relevant %"], &rows, true);
    w.bars("Reactie % per maand", &reaction_bars(q), " %");
    w.paragraph("Dekking", 13.0, true);
    let c = &q.coverage.total;
    w.paragraph(
        &format!(
            "{} deelnemers op {} inwoners ({} %); {} van de {} buurten onder de drempel.",
            c.participants,
            c.inhabitants.map(|i| i.to_string()).unwrap_or_else(|| "onbekend".into()),
            c.share_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
            q.flagged(),
            q.coverage.rows.len()
        ),
        10.0,
        false,
    );
    let trend: Vec<Vec<String>> = q.trend.iter().map(|(k, n)| vec![k.clone(), n.clone()]).collect();
    w.table(&["Kwartaal", "Deelnemers"], &trend, false);
    w.paragraph("Kosten", 13.0, true);
    let cost = vec![vec![
        q.cost.inhabitants.map(|i| i.to_string()).unwrap_or_default(),
        buurtnet_domain::reports::euros(q.cost.cents.0),
        buurtnet_domain::reports::euros(q.cost.cents.1),
        buurtnet_domain::reports::euros(q.cost.cents.0 + q.cost.cents.1),
    ]];
    w.table(&["Inwoners", "Gemeente €", "Politie €", "Totaal €"], &cost, false);

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let page_ids: Vec<Ref> = (0..w.pages.len()).map(|i| Ref::new(5 + 2 * i as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(page_ids.len() as i32);
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    for (i, content) in w.pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(6 + 2 * i as i32);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular);
        fonts.pair(Name(b"F2"), bold);
        drop(fonts);
        drop(resources);
        drop(page);
        pdf.stream(content_id, &content.finish());
    }
    pdf.document_info(Ref::new(5 + 2 * page_ids.len() as i32)).title(pdf_writer::TextStr(&q.title()));
    pdf.finish()
}
