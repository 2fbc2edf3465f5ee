"""OvJ consent for criminal-justice data (promise 3; Wjsg; model covenant art. 5)."""
