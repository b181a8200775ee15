return {
  user = { auth = "jwt" },
}
