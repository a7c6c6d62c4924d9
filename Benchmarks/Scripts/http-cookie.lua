-- wrk script of the HTTP benchmark: carries the session cookie as a browser does. Each wrk
-- thread keeps the cookie of the last response that set one and sends it with every request,
-- so every request after the first reads and writes an existing session.
local cookie = nil

request = function()
  if cookie then
    return wrk.format("GET", "/", { ["Cookie"] = cookie })
  end
  return wrk.format("GET", "/")
end

response = function(status, headers, body)
  for name, value in pairs(headers) do
    if string.lower(name) == "set-cookie" then
      local pair = string.match(value, "^([^;]+)")
      -- An expired cookie (Max-Age=0) would end the session; keep the last live one.
      if pair and not string.find(value, "Max-Age=0", 1, true) then
        cookie = pair
      end
    end
  end
end
