//! Authentication: password hashing, session tokens and the extractor that guards routes.

mod extractor;
mod jwt;
mod password;

pub use extractor::AuthUser;
pub use jwt::{Claims, IssuedToken, JwtKeys};
pub use password::PasswordHasher;
