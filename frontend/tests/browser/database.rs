//! A PostgreSQL database per test: created from `TEST_DATABASE_URL` with `CREATE DATABASE`,
//! migrated with the backend's migrations, and dropped again when the test ends.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set. Run the browser tests through the PostgreSQL wrapper: \
             scripts/with-postgres.sh cargo nextest run -p taskflow-frontend --test browser"
        )
    })
}

/// `url` pointing at database `name` instead of its own.
fn url_of_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let host_start = base.find("://").map_or(0, |at| at + 3);
    let path_start = base[host_start..]
        .find('/')
        .map_or(base.len(), |at| host_start + at);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{name}{query}", &base[..path_start])
}

/// A migrated database that lives as long as the test.
#[derive(Debug)]
pub(crate) struct Database {
    name: String,
    /// Connection URL of this database.
    pub(crate) url: String,
}

impl Database {
    /// A fresh database with the current schema.
    pub(crate) async fn create() -> Self {
        let admin = admin_url();
        let name = format!("browser_{:016x}", rand::random::<u64>());
        let mut conn = AsyncPgConnection::establish(&admin)
            .await
            .expect("connecting to TEST_DATABASE_URL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("creating the test database");
        let url = url_of_database(&admin, &name);
        taskflow_backend::db::run_migrations(&url)
            .await
            .expect("migrating the test database");
        Self { name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime, which must not block: use a thread with its own.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&admin_url()).await?;
                diesel::sql_query(sql).execute(&mut conn).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop the test database {}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::url_of_database;

    #[test]
    fn database_urls_get_the_new_database_name() {
        let cases = [
            (
                "postgres://postgres@%2Ftmp%2Fpg/postgres",
                "postgres://postgres@%2Ftmp%2Fpg/t1",
            ),
            (
                "postgres://u:p@127.0.0.1:5432/app?sslmode=disable",
                "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable",
            ),
            ("postgres://u@localhost", "postgres://u@localhost/t1"),
        ];
        for (url, expected) in cases {
            assert_eq!(url_of_database(url, "t1"), expected, "for {url}");
        }
    }
}
