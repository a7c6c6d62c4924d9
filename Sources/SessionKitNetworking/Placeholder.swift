public enum SessionKitNetworkingPlaceholder {}
