//! Operation ids and the security of public operations.

use super::errors::public;
use super::operations;

/// Stable, unique operation ids for generated clients: `<tag>_<handler>`
/// (`me_read`, `content_list_messages`); and `security: []` on the
/// operations that need no credentials, so that generators and linters do
/// not take the document's default for them.
pub(super) fn name_operations(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in operations(item) {
            let tag = op
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            if let Some(id) = &op.operation_id
                && !id.starts_with(&format!("{tag}_"))
            {
                op.operation_id = Some(format!("{tag}_{id}"));
            }
            if public(op) {
                op.security = Some(Vec::new());
            }
        }
    }
}
