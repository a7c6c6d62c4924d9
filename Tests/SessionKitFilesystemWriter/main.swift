// A child process for multi-process filesystem store tests.
print("placeholder")
