//! Paging, as the store answers searches.

/// One page of a search, with the offset of the next page if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_offset: Option<u64>,
}
