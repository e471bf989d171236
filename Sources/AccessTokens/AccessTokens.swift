/// JWT access tokens (RFC 9068 profile) that grant scoped access to model
/// versions, verified with the defences of RFC 8725.
public enum AccessTokens {}
