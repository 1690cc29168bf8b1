//! The `revoked_tokens` table: session tokens ended by sign-out.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use uuid::Uuid;

use crate::db::schema::revoked_tokens;

/// Records a token as revoked and forgets revocations whose tokens have expired anyway.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    jti: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(revoked_tokens::table)
        .values((
            revoked_tokens::jti.eq(jti),
            revoked_tokens::user_id.eq(user_id),
            revoked_tokens::expires_at.eq(expires_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(Utc::now())))
        .execute(conn)
        .await?;
    Ok(())
}
