//! Authentication: password hashing, session tokens and the extractor that guards routes.

mod extractor;
mod jwt;
mod password;
pub mod sessions;

pub use extractor::AuthUser;
pub use jwt::{Claims, IssuedToken, JwtKeys};
pub use password::PasswordHasher;
pub use sessions::{SessionCache, SessionUser};
