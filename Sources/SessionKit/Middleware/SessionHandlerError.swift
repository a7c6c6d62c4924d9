/// The handler threw, and an interface with ``CookieSessionConfiguration/setOnException``
/// still has headers to send: add ``headers`` to the error response.
public struct SessionHandlerError: Error, CustomStringConvertible {
    /// What the handler threw.
    public let error: any Error
    /// The headers to add to the error response.
    public let headers: [SessionHeader]

    public var description: String { "the handler threw \(error); \(headers.count) session header(s) to send with the error response" }
}
