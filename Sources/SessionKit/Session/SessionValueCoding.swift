import Foundation

/// Conversions between `Codable` values and ``SessionValue``.
enum SessionValueCoding {
    static func encode<T: Encodable>(_ value: T, key: String) throws -> SessionValue {
        switch value {
        case let v as SessionValue: return v
        case let v as String: return .string(v)
        case let v as Int: return .int(v)
        case let v as Bool: return .bool(v)
        case let v as Double:
            guard v.isFinite else { throw encodingError(key, "\(v) is not a finite number") }
            return .double(v)
        default: break
        }
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw encodingError(key, "\(error)")
        }
        return try JSON.decode(data)
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: SessionValue, key: String) throws -> T {
        switch type {
        case is SessionValue.Type: return value as! T
        case is String.Type: if let v = value.stringValue { return v as! T }
        case is Int.Type: if let v = value.intValue { return v as! T }
        case is Bool.Type: if let v = value.boolValue { return v as! T }
        case is Double.Type: if let v = value.doubleValue { return v as! T }
        default: break
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(JSON.encode(value)))
        } catch {
            throw SessionError(
                .decodingFailed,
                "the session value under \"\(key)\" does not decode as \(T.self) (\(error)); check the type you ask for, or remove the stale value")
        }
    }

    private static func encodingError(_ key: String, _ why: String) -> SessionError {
        SessionError(.encodingFailed, "cannot store the value for \"\(key)\" in the session: \(why); sessions hold JSON-representable values only")
    }
}
