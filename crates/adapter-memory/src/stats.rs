//! `StatsRepository`.

use async_trait::async_trait;
use domain::*;
use time::Date;

use super::MemoryStore;

#[async_trait]
impl StatsRepository for MemoryStore {
    async fn add(&self, date: Date, counts: &DayCounts) -> Result<(), StoreError> {
        let mut state = self.state();
        let day = state.stats.entry(date).or_insert_with(|| DayStats {
            date,
            counts: DayCounts::default(),
            totals: None,
        });
        day.counts += counts;
        Ok(())
    }

    async fn set_totals(&self, date: Date, totals: &Totals) -> Result<(), StoreError> {
        let mut state = self.state();
        let day = state.stats.entry(date).or_insert_with(|| DayStats {
            date,
            counts: DayCounts::default(),
            totals: None,
        });
        day.totals = Some(*totals);
        Ok(())
    }

    async fn days(&self, from: Date, to: Date) -> Result<Vec<DayStats>, StoreError> {
        let state = self.state();
        Ok(state
            .stats
            .range(from..=to)
            .map(|(_, d)| d.clone())
            .collect())
    }
}
