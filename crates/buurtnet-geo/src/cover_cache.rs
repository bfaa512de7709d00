//! Covers of drawn shapes kept per process, with how each lies relative to the staff scopes it
//! was asked for: a count is asked again and again for the same area (while a dispatcher looks
//! at it, and by the same request for its addresses and its anonymous devices), and a cover and
//! a scope overlap cost more than the count of a small circle itself. Exact: a shape is found
//! again only when it is the same shape (the same numbers, bit for bit).

use crate::target_area::{Covered, Overlap, Shape};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Shapes kept (the most recently used first).
pub const CAPACITY: usize = 64;

struct Entry {
    budget: usize,
    covered: Arc<Covered>,
    /// Per scope code, how the shape lies relative to that scope's outline.
    overlaps: Vec<(String, Overlap)>,
}

#[derive(Default)]
pub struct CoverCache {
    entries: Mutex<VecDeque<Entry>>,
}

fn same(a: &Shape, b: &Shape) -> bool {
    match (a, b) {
        (Shape::Circle { lat, lon, radius_m }, Shape::Circle { lat: la, lon: lo, radius_m: r }) => {
            lat.to_bits() == la.to_bits() && lon.to_bits() == lo.to_bits() && radius_m.to_bits() == r.to_bits()
        }
        (Shape::Polygon(p), Shape::Polygon(q)) => p.shape == q.shape,
        _ => false,
    }
}

impl CoverCache {
    /// Shapes kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape with its cover: the kept one when this shape was covered before.
    pub fn covered(&self, shape: Shape, budget: usize) -> Arc<Covered> {
        if let Ok(mut entries) = self.entries.lock()
            && let Some(i) = entries.iter().position(|e| e.budget == budget && same(&e.covered.shape, &shape))
            && let Some(hit) = entries.remove(i)
        {
            let covered = hit.covered.clone();
            entries.push_front(hit);
            return covered;
        }
        let covered = Arc::new(Covered::new(shape, budget));
        if let Ok(mut entries) = self.entries.lock() {
            entries.push_front(Entry { budget, covered: covered.clone(), overlaps: Vec::new() });
            entries.truncate(CAPACITY);
        }
        covered
    }

    /// How a covered shape (from [`CoverCache::covered`]) lies relative to a scope: kept, or
    /// `compute`d once and kept with the shape.
    pub fn overlap(&self, covered: &Arc<Covered>, scope: &str, compute: impl FnOnce() -> Overlap) -> Overlap {
        let kept = |entries: &VecDeque<Entry>| {
            let e = entries.iter().find(|e| Arc::ptr_eq(&e.covered, covered))?;
            e.overlaps.iter().find(|(s, _)| s == scope).map(|(_, o)| *o)
        };
        if let Some(o) = self.entries.lock().ok().and_then(|e| kept(&e)) {
            return o;
        }
        let o = compute();
        if let Ok(mut entries) = self.entries.lock()
            && let Some(e) = entries.iter_mut().find(|e| Arc::ptr_eq(&e.covered, covered))
            && !e.overlaps.iter().any(|(s, _)| s == scope)
        {
            e.overlaps.push((scope.to_string(), o));
        }
        o
    }
}
