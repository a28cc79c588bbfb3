/* The incident report form (service/templates/incidents/form.html): warns, as the time is typed, when
   the report would come more than the allowed hours after the incident. An enhancement only: the
   server says the same after the form is posted, before anything is saved. Times are Beijing time. */
window.incidentForm = function (serverNow, withinMs) {
  const loaded = Date.now();
  const parse = (value) => {
    if (!value) return null;
    const t = Date.parse(value.length === 16 ? value + ":00+08:00" : value + "+08:00");
    return Number.isNaN(t) ? null : t;
  };
  return {
    occurred: "",
    reported: "",
    late() {
      const occurred = parse(this.occurred);
      if (occurred === null) return false;
      // The time entered (bureau) or stored (a correction); a school's new report is made now.
      const given = parse(this.reported);
      const reported = given !== null ? given : serverNow + (Date.now() - loaded);
      return reported - occurred > withinMs;
    },
  };
};
