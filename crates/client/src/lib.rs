//! The client side of glwire behind the ICD: the per-thread current context, the command
//! encoder, the state shadow that answers queries locally, and the EGL object model.
//! It never calls host GL and holds no `unsafe`; pointer handling is the ICD's.
