// Baseline C of bench/run: Twilio's own Programmable Voice quickstart server for Node.js
// (twilio.com/docs/voice/quickstart/node, "respond to incoming calls"; the same code as
// TwilioDevEd/api-snippets guides/voice/respond-incoming-calls-guide/respond-no-parameters),
// kept as close to it as possible: Express, POST /voice answers TwiML built with the helper
// library's VoiceResponse, no signature check, no state. The only change is the port, taken from
// PORT (bench/run picks a free one) instead of the fixed 3000.
const express = require('express');
const VoiceResponse = require('twilio').twiml.VoiceResponse;

const app = express();

// Create a route that will handle Twilio webhook requests, sent as an
// HTTP POST to /voice in our application
app.post('/voice', (request, response) => {
  // Use the Twilio Node.js SDK to build an XML response
  const twiml = new VoiceResponse();
  twiml.say('Hello from your pals at Twilio! Have fun.');

  // Render the response as XML in reply to the webhook request
  response.type('text/xml');
  response.send(twiml.toString());
});

// Create an HTTP server and listen for requests on port 3000 (PORT here)
const port = Number(process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`Now listening on port ${port}.`);
});
