/// Hash functions that are broken for security purposes and kept only for compatibility,
/// as in swift-crypto: never use them to protect data.
///
/// SessionKit uses ``Insecure/MD5`` for one thing, placing keys on a ketama ring the way
/// libmemcached does, where it only has to spread keys evenly and agree with other clients.
public enum Insecure {}
