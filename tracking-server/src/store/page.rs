//! Paging, as the store answers searches.

/// One page of a search, with the offset of the next page if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_offset: Option<u64>,
}

/// One page of a search written straight to its JSON (see `RunStore::search_runs_json`): how many
/// items it has, and the offset of the next page if there is one.
#[derive(Debug, Clone, Copy)]
pub struct WrittenPage {
    pub items: usize,
    pub next_offset: Option<u64>,
}
